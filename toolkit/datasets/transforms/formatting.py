from __future__ import annotations

import numpy as np
import torch
from mmcv.transforms import BaseTransform

from toolkit.registry import TRANSFORMS
from toolkit.structures import HarmonizationDataSample


def _image_to_tensor(image: np.ndarray) -> torch.Tensor:
    """(H, W, 3) uint8 → (3, H, W) uint8 tensor."""
    return torch.from_numpy(np.ascontiguousarray(image.transpose(2, 0, 1)))


def _mask_to_tensor(mask: np.ndarray) -> torch.Tensor:
    """(H, W) float → (1, H, W) float32 tensor."""
    return torch.from_numpy(np.ascontiguousarray(mask, dtype=np.float32))[None]


@TRANSFORMS.register_module()
class PackHarmonizationInputs(BaseTransform):
    """Pack a loaded example into ``dict(inputs=..., data_samples=...)``.

    ``inputs`` is ``dict(composite=(3, H, W) uint8, mask=(1, H, W) float32)`` plus
    ``references=(R, 3, H, W) uint8`` when the example has references. The data
    sample (:class:`~toolkit.structures.HarmonizationDataSample`) carries ``gt_img``,
    ``composite_img``, ``mask``, ``soft_mask`` and the meta keys.
    """

    def __init__(self, meta_keys=('name', 'subset', 'composite_path', 'mask_path', 'gt_path', 'ori_shape',
                                  'img_shape', 'flip', 'crop_box')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        composite = _image_to_tensor(results['composite'])
        mask = _mask_to_tensor(results['mask'])
        inputs = dict(composite=composite, mask=mask)
        sample = HarmonizationDataSample()
        sample.composite_img = composite
        sample.mask = mask
        sample.soft_mask = _mask_to_tensor(results.get('soft_mask', results['mask']))
        if 'gt' in results:
            sample.gt_img = _image_to_tensor(results['gt'])
        refs = results.get('refs')
        if refs:
            references = torch.stack([_image_to_tensor(ref) for ref in refs])
            inputs['references'] = references
            sample.ref_imgs = references
        metainfo = {key: results[key] for key in self.meta_keys if key in results}
        metainfo['fg_ratio'] = float((results['mask'] > 0.5).mean())
        sample.set_metainfo(metainfo)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self):
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
