"""The data sample that travels from the dataset through the model to the metric."""
from __future__ import annotations

from mmengine.structures import BaseDataElement


class HarmonizationDataSample(BaseDataElement):
    """One harmonization example (fields are plain attributes; use ``sample.get(name)`` for optional ones).

    Data fields (tensors, channel-first):

    ================= ============ ===========================================================
    field             shape        meaning
    ================= ============ ===========================================================
    ``gt_img``        (3, H, W)    ground-truth real image, uint8 0–255 (absent for real composites)
    ``composite_img`` (3, H, W)    input composite, uint8 0–255 (kept for the "input" metric row)
    ``mask``          (1, H, W)    mask given to the model, float in [0, 1]
    ``soft_mask``     (1, H, W)    mask before binarisation (for metric profiles that use soft masks)
    ``pred_img``      (3, H, W)    prediction, float 0–255 (set by ``predict``)
    ``ref_imgs``      (R, 3, H, W) optional reference images, uint8
    ================= ============ ===========================================================

    Meta fields: ``subset``, ``composite_path``, ``mask_path``, ``gt_path``, ``name``
    (composite path relative to the dataset root), ``ori_shape``, ``img_shape``,
    ``fg_ratio`` (foreground fraction of the mask at the network resolution).

    Example:
        >>> import torch
        >>> sample = HarmonizationDataSample(metainfo=dict(subset='HCOCO'))
        >>> sample.mask = torch.ones(1, 4, 4)
        >>> sample.subset, tuple(sample.mask.shape), sample.get('gt_img')
        ('HCOCO', (1, 4, 4), None)
    """
