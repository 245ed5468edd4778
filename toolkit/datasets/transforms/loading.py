from __future__ import annotations

from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from toolkit.registry import TRANSFORMS

from ..io import HarmonizationDataError, read_image, read_mask
from .processing import match_size


@TRANSFORMS.register_module()
class LoadHarmonizationImages(BaseTransform):
    """Load composite, mask and (when listed) ground truth and references.

    Required keys: ``composite_path``, ``mask_path``; optional ``gt_path``, ``ref_paths``.
    Added keys: ``composite`` (H, W, 3) uint8 RGB, ``mask`` (H, W) float32 in [0, 1],
    ``gt`` (H, W, 3) uint8, ``refs`` list of (h, w, 3) uint8, ``ori_shape``, ``img_shape``.

    Args:
        soft_mask: what to do with a mask holding values other than 0 and 1:
            ``'keep'`` (default; binarise later with :class:`BinarizeMask`) or ``'error'``.
        resize_mismatched: a mask or ground truth whose size differs from the composite
            but whose aspect ratio matches is resized to the composite (bilinear for the
            mask, area for images); any other mismatch is an error naming both files.
        foreground_threshold: a mask with no value above this has no foreground → error.
    """

    def __init__(self, soft_mask: str = 'keep', resize_mismatched: bool = True,
                 foreground_threshold: float = 0.5):
        if soft_mask not in ('keep', 'error'):
            raise ValueError(f"soft_mask must be 'keep' or 'error'; got {soft_mask!r}")
        self.soft_mask = soft_mask
        self.resize_mismatched = resize_mismatched
        self.foreground_threshold = foreground_threshold

    def _match_size(self, array: np.ndarray, target_shape, path: str, composite_path: str, is_mask: bool):
        kind = 'mask' if is_mask else 'image'
        if not self.resize_mismatched and array.shape[:2] != tuple(target_shape):
            raise HarmonizationDataError(
                f'{path}: {kind} size {array.shape[1]}x{array.shape[0]} does not match composite {composite_path} '
                f'({target_shape[1]}x{target_shape[0]})')
        return match_size(array, target_shape, path, f'composite {composite_path}', kind)

    def transform(self, results: dict) -> Optional[dict]:
        composite_path = results['composite_path']
        composite = read_image(composite_path)
        shape = composite.shape[:2]

        mask_path = results['mask_path']
        mask = self._match_size(read_mask(mask_path), shape, mask_path, composite_path, is_mask=True)
        if self.soft_mask == 'error':
            non_binary = np.count_nonzero((mask > 1e-6) & (mask < 1 - 1e-6))
            if non_binary:
                raise HarmonizationDataError(
                    f'{mask_path}: mask is not binary ({non_binary} pixels strictly between 0 and 255)')
        if not np.any(mask > self.foreground_threshold):
            raise HarmonizationDataError(
                f'{mask_path}: mask is empty (no pixel above {self.foreground_threshold * 255:.0f}/255); '
                'a composite needs a foreground region')

        results['composite'] = composite
        results['mask'] = mask
        gt_path = results.get('gt_path')
        if gt_path:
            results['gt'] = self._match_size(read_image(gt_path), shape, gt_path, composite_path, is_mask=False)
        ref_paths = results.get('ref_paths') or []
        results['refs'] = [read_image(path) for path in ref_paths]
        results['ori_shape'] = shape
        results['img_shape'] = shape
        return results

    def __repr__(self):
        return (f'{self.__class__.__name__}(soft_mask={self.soft_mask!r}, '
                f'resize_mismatched={self.resize_mismatched})')
