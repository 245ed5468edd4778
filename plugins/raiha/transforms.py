"""Raiha's reference sampling for training: retrieved references mixed with augmented targets.

Pipeline order (see ``configs/_base_/datasets/raharmony4-train-256.py``)::

    SampleRaihaReference   # before loading: pick one retrieved path, or "use the target", or nothing
    LoadHarmonizationImages, Resize, BinarizeMask
    MakeTargetReference    # after resizing: crop/flip/resize the target into a reference that holds the foreground
    PackHarmonizationInputs
"""
from __future__ import annotations

import random

import numpy as np
from mmcv.transforms import BaseTransform

from toolkit.datasets.transforms.processing import resize_image
from toolkit.registry import TRANSFORMS


@TRANSFORMS.register_module()
class SampleRaihaReference(BaseTransform):
    """Choose the training reference of one example.

    Candidates are one retrieved reference drawn uniformly from ``ref_paths`` (when the list is non-empty and
    ``use_retrieved``) and the augmented target (when ``use_augmented``); one candidate is taken, the retrieved
    one with probability ``retrieved_prob`` when both exist (0.5 = the released code's uniform pick).
    Sets ``ref_paths`` to ``[chosen]`` or ``[]`` and ``reference_from_target``.

    Ablations of Table III: ``use_augmented=False`` ("w/o augmentation"; examples with no retrieval get no
    reference), ``use_retrieved=False`` ("w/o retrieval").
    """

    def __init__(self, use_retrieved: bool = True, use_augmented: bool = True, retrieved_prob: float = 0.5):
        if not (use_retrieved or use_augmented):
            raise ValueError('enable retrieved or augmented references (or drop this transform for no references)')
        if not 0.0 <= retrieved_prob <= 1.0:
            raise ValueError(f'retrieved_prob must be in [0, 1]; got {retrieved_prob}')
        self.use_retrieved = use_retrieved
        self.use_augmented = use_augmented
        self.retrieved_prob = retrieved_prob

    def transform(self, results: dict) -> dict:
        retrieved = list(results.get('ref_paths') or []) if self.use_retrieved else []
        take_retrieved = bool(retrieved) and (not self.use_augmented or random.random() < self.retrieved_prob)
        results['ref_paths'] = [random.choice(retrieved)] if take_retrieved else []
        results['reference_from_target'] = self.use_augmented and not take_retrieved
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(use_retrieved={self.use_retrieved}, use_augmented={self.use_augmented}, '
                f'retrieved_prob={self.retrieved_prob})')


@TRANSFORMS.register_module()
class MakeTargetReference(BaseTransform):
    """Turn the (resized) target into a reference when ``reference_from_target`` is set.

    A square window of ``crop_ratio`` × the image side (196/256 as released) is drawn up to ``max_tries``
    times until it covers more than ``min_foreground`` of the foreground pixels (fallback: the whole image),
    then resized back to the image size and flipped horizontally with ``flip_prob``. The reference is
    appended to ``refs``.
    """

    def __init__(self, crop_ratio: float = 196 / 256, min_foreground: float = 0.5, max_tries: int = 5,
                 flip_prob: float = 0.5):
        if not 0.0 < crop_ratio <= 1.0:
            raise ValueError(f'crop_ratio must be in (0, 1]; got {crop_ratio}')
        self.crop_ratio = crop_ratio
        self.min_foreground = min_foreground
        self.max_tries = max_tries
        self.flip_prob = flip_prob

    def crop_box(self, mask: np.ndarray) -> tuple[int, int, int, int]:
        """``(top, left, height, width)`` of a window holding more than ``min_foreground`` of the foreground."""
        height, width = mask.shape
        crop_h, crop_w = max(1, round(height * self.crop_ratio)), max(1, round(width * self.crop_ratio))
        foreground = mask > 0.5
        total = int(foreground.sum())
        for _ in range(self.max_tries):
            top, left = random.randint(0, height - crop_h), random.randint(0, width - crop_w)
            if total and foreground[top:top + crop_h, left:left + crop_w].sum() > self.min_foreground * total:
                return top, left, crop_h, crop_w
        return 0, 0, height, width

    def transform(self, results: dict) -> dict:
        if not results.get('reference_from_target'):
            return results
        if 'gt' not in results:
            raise KeyError(f'{results.get("composite_path")}: MakeTargetReference needs the target (gt_path)')
        target = results['gt']
        top, left, crop_h, crop_w = self.crop_box(results['mask'])
        reference = resize_image(np.ascontiguousarray(target[top:top + crop_h, left:left + crop_w]),
                                 target.shape[:2], interpolation='bilinear')
        if random.random() < self.flip_prob:
            reference = np.ascontiguousarray(reference[:, ::-1])
        results['refs'] = list(results.get('refs') or []) + [reference]
        results['target_reference_box'] = (top, left, crop_h, crop_w)
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(crop_ratio={self.crop_ratio:.4f}, flip_prob={self.flip_prob})'
