"""Geometric transforms applied consistently to composite, mask and ground truth.

Interpolation policy (documented in docs/datasets.md): images use ``area`` when
shrinking (anti-aliased, close to PIL's bilinear-with-support the field's PyTorch
loaders use) and ``bilinear`` when enlarging; masks are resized bilinearly, which
makes them soft at the border, and :class:`BinarizeMask` thresholds them explicitly.
"""
from __future__ import annotations

import math
import random
from typing import Optional, Sequence

import cv2
import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from toolkit.registry import TRANSFORMS

from ..io import ASPECT_TOLERANCE, HarmonizationDataError

_IMAGE_KEYS = ('composite', 'gt')
_MASK_KEYS = ('mask', 'soft_mask')


def _pick_interpolation(interpolation: str, src_hw, dst_hw) -> str:
    if interpolation != 'auto':
        return interpolation
    shrinking = dst_hw[0] * dst_hw[1] < src_hw[0] * src_hw[1]
    return 'area' if shrinking else 'bilinear'


def resize_image(image: np.ndarray, size: Sequence[int], interpolation: str = 'auto') -> np.ndarray:
    """Resize ``(H, W, C)`` uint8 to ``size = (height, width)``."""
    height, width = size
    method = _pick_interpolation(interpolation, image.shape[:2], size)
    return mmcv.imresize(image, (width, height), interpolation=method)


def resize_mask(mask: np.ndarray, size: Sequence[int], interpolation: str = 'bilinear') -> np.ndarray:
    """Resize an ``(H, W)`` mask to ``size = (height, width)``: float in [0, 1], or uint8 (0–255) kept uint8."""
    height, width = size
    method = _pick_interpolation(interpolation, mask.shape[:2], size)
    if mask.dtype == np.uint8:
        return mmcv.imresize(mask, (width, height), interpolation=method)
    resized = mmcv.imresize(mask.astype(np.float32), (width, height), interpolation=method)
    return np.clip(resized, 0.0, 1.0)


def same_aspect(shape_a, shape_b) -> bool:
    """Whether two ``(H, W)`` shapes have the same aspect ratio within :data:`~toolkit.datasets.io.ASPECT_TOLERANCE`."""
    ratio_a, ratio_b = shape_a[0] / shape_a[1], shape_b[0] / shape_b[1]
    return abs(ratio_a - ratio_b) <= ASPECT_TOLERANCE * ratio_a


def match_size(array: np.ndarray, target_shape, label: str, composite_label: str, kind: str = 'mask') -> np.ndarray:
    """The size rule for masks and real images: same size as the composite, or same aspect ratio and resized
    (masks bilinearly, images with :func:`resize_image`).

    Raises:
        HarmonizationDataError: the aspect ratios differ (the message names both files and sizes).

    Example:
        >>> match_size(np.ones((50, 100), np.float32), (100, 200), 'm.png', 'c.jpg').shape
        (100, 200)
    """
    if array.shape[:2] == tuple(target_shape[:2]):
        return array
    if not same_aspect(array.shape[:2], target_shape):
        raise HarmonizationDataError(
            f'{label}: {kind} size {array.shape[1]}x{array.shape[0]} does not match {composite_label} '
            f'({target_shape[1]}x{target_shape[0]}) and the aspect ratios differ, so it cannot be resized')
    size = tuple(target_shape[:2])
    return resize_mask(array, size) if kind == 'mask' else resize_image(array, size)


def _apply(results: dict, image_fn, mask_fn) -> None:
    for key in _IMAGE_KEYS:
        if key in results:
            results[key] = image_fn(results[key])
    for key in _MASK_KEYS:
        if key in results:
            results[key] = mask_fn(results[key])
    results['img_shape'] = results['composite'].shape[:2]


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize composite, gt and mask straight to ``scale`` (no aspect preservation, as iHarmony4 papers do).

    Args:
        scale: ``(height, width)`` or an int for a square.
        interpolation: image interpolation, ``'auto'`` = area when shrinking, bilinear when enlarging.
        mask_interpolation: mask interpolation (default bilinear → soft edges).
        resize_refs: also resize reference images to ``scale``.
    """

    def __init__(self, scale, interpolation: str = 'auto', mask_interpolation: str = 'bilinear',
                 resize_refs: bool = True):
        self.scale = (scale, scale) if isinstance(scale, int) else tuple(scale)
        self.interpolation = interpolation
        self.mask_interpolation = mask_interpolation
        self.resize_refs = resize_refs

    def transform(self, results: dict) -> dict:
        _apply(results, lambda image: resize_image(image, self.scale, self.interpolation),
               lambda mask: resize_mask(mask, self.scale, self.mask_interpolation))
        if self.resize_refs and results.get('refs'):
            results['refs'] = [resize_image(ref, self.scale, self.interpolation) for ref in results['refs']]
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(scale={self.scale}, interpolation={self.interpolation!r})'


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area fraction ``scale`` and aspect ``ratio``, resize it to ``size``.

    The crop is re-drawn (up to ``max_tries``) until it keeps at least
    ``min_foreground`` of the mask's foreground pixels, so training never sees a
    crop that lost the object; otherwise the whole image is resized.

    Args:
        size: output ``(height, width)`` or int.
        scale: range of the crop area as a fraction of the image area.
        ratio: range of the crop aspect ratio (width / height).
        min_foreground: fraction of the foreground (mask > 0.5) that must stay in the crop.
    """

    def __init__(self, size, scale=(0.5, 1.0), ratio=(3 / 4, 4 / 3), min_foreground: float = 0.5,
                 max_tries: int = 10, interpolation: str = 'auto'):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        self.scale = scale
        self.ratio = ratio
        self.min_foreground = min_foreground
        self.max_tries = max_tries
        self.interpolation = interpolation

    def _sample_box(self, height: int, width: int):
        area = height * width
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        target_area = area * random.uniform(*self.scale)
        aspect = math.exp(random.uniform(*log_ratio))
        crop_w = int(round(math.sqrt(target_area * aspect)))
        crop_h = int(round(math.sqrt(target_area / aspect)))
        if not (0 < crop_w <= width and 0 < crop_h <= height):
            return None
        top = random.randint(0, height - crop_h)
        left = random.randint(0, width - crop_w)
        return top, left, crop_h, crop_w

    def transform(self, results: dict) -> dict:
        height, width = results['composite'].shape[:2]
        foreground = results['mask'] > 0.5
        total = max(int(foreground.sum()), 1)
        box = None
        for _ in range(self.max_tries):
            candidate = self._sample_box(height, width)
            if candidate is None:
                continue
            top, left, crop_h, crop_w = candidate
            kept = int(foreground[top:top + crop_h, left:left + crop_w].sum())
            if kept >= self.min_foreground * total and kept > 0:
                box = candidate
                break
        if box is None:
            box = (0, 0, height, width)
        top, left, crop_h, crop_w = box
        results['crop_box'] = (top, left, crop_h, crop_w)

        def crop(array):
            return array[top:top + crop_h, left:left + crop_w]

        _apply(results, lambda image: resize_image(np.ascontiguousarray(crop(image)), self.size, self.interpolation),
               lambda mask: resize_mask(np.ascontiguousarray(crop(mask)), self.size))
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio})'


@TRANSFORMS.register_module()
class RandomFlip(BaseTransform):
    """Horizontal flip of composite, gt and mask with probability ``prob``."""

    def __init__(self, prob: float = 0.5):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1]; got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        flip = random.random() < self.prob
        results['flip'] = flip
        if flip:
            _apply(results, lambda image: np.ascontiguousarray(image[:, ::-1]),
                   lambda mask: np.ascontiguousarray(mask[:, ::-1]))
        return results


@TRANSFORMS.register_module()
class BinarizeMask(BaseTransform):
    """Threshold the mask: ``mask = (mask > threshold)``; the pre-threshold mask is kept as ``soft_mask``.

    Raises:
        HarmonizationDataError: nothing is left above the threshold (the foreground
            vanished at this resolution); the message names the mask file.
    """

    def __init__(self, threshold: float = 0.5, keep_soft: bool = True):
        if not 0.0 <= threshold < 1.0:
            raise ValueError(f'threshold must be in [0, 1); got {threshold}')
        self.threshold = threshold
        self.keep_soft = keep_soft

    def transform(self, results: dict) -> Optional[dict]:
        mask = results['mask']
        binary = (mask > self.threshold).astype(np.float32)
        if not binary.any():
            raise HarmonizationDataError(
                f'{results.get("mask_path", "mask")}: no foreground left after resizing to '
                f'{mask.shape[1]}x{mask.shape[0]} and thresholding at {self.threshold}')
        if self.keep_soft:
            results['soft_mask'] = mask
        results['mask'] = binary
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(threshold={self.threshold})'


def shift_saturation_hue(image: np.ndarray, saturation: float, hue: float = 0.0) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB with its HSV saturation × ``saturation`` (clipped to 1) and its hue rotated by ``hue``
    degrees: ``(H, W, 3)`` uint8.

    Example:
        >>> shift_saturation_hue(np.array([[[200, 100, 100]]], np.uint8), 0.5).tolist()  # S 0.5 → 0.25, V kept
        [[[200, 150, 150]]]
    """
    hsv = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = np.mod(hsv[..., 0] + hue, 360.0)
    hsv[..., 1] = np.clip(hsv[..., 1] * saturation, 0, 1)
    return np.clip(np.round(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0), 0, 255).astype(np.uint8)


@TRANSFORMS.register_module()
class ForegroundDesaturation(BaseTransform):
    """With probability ``prob``, take colour out of the composite's foreground: HSV saturation × ``s``, ``s`` drawn
    uniformly from ``factor``; the real image and the background are untouched.

    Why: casts (per-channel gains, white balance, colour transfers) make synthetic composites more colourful than
    their real images more often than greyer (docs/colorcurves.md), so a model trained on them learns to take colour
    out; real composites are greyer than their objects about as often. Place it after ``BinarizeMask``.

    Example:
        >>> composite = np.zeros((1, 2, 3), np.uint8); composite[...] = (200, 100, 100)
        >>> results = dict(composite=composite, mask=np.array([[1.0, 0.0]], np.float32))
        >>> out = ForegroundDesaturation(prob=1.0, factor=(0.5, 0.5))(results)['composite']
        >>> out[0, 0].tolist(), out[0, 1].tolist()  # S 0.5 → 0.25 in the foreground, V kept
        ([200, 150, 150], [200, 100, 100])
    """

    def __init__(self, prob: float = 0.3, factor: Sequence[float] = (0.4, 1.0)):
        if not 0.0 <= prob <= 1.0:
            raise ValueError(f'prob must be in [0, 1]; got {prob}')
        if len(factor) != 2 or not 0.0 <= factor[0] <= factor[1] <= 1.0:
            raise ValueError(f'factor must be (low, high) with 0 <= low <= high <= 1; got {factor}')
        self.prob, self.factor = prob, tuple(factor)

    def transform(self, results: dict) -> dict:
        if random.random() >= self.prob:
            return results
        scale = random.uniform(*self.factor)
        desaturated = shift_saturation_hue(results['composite'], scale)
        foreground = results['mask'] > 0.5
        composite = results['composite'].copy()
        composite[foreground] = desaturated[foreground]
        results['composite'] = composite
        results['desaturation'] = scale
        return results

    def __repr__(self):
        return f'{self.__class__.__name__}(prob={self.prob}, factor={self.factor})'
