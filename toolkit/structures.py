"""The data sample that travels from the dataset through the model to the metric."""
from __future__ import annotations

from mmengine.structures import BaseDataElement


class HarmonizationDataSample(BaseDataElement):
    """One harmonization example.

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
    """

    def _get(self, name):
        return getattr(self, name) if name in self else None

    @property
    def gt_img(self):
        return self._get('_gt_img')

    @gt_img.setter
    def gt_img(self, value):
        self.set_field(value, '_gt_img')

    @property
    def pred_img(self):
        return self._get('_pred_img')

    @pred_img.setter
    def pred_img(self, value):
        self.set_field(value, '_pred_img')

    @property
    def composite_img(self):
        return self._get('_composite_img')

    @composite_img.setter
    def composite_img(self, value):
        self.set_field(value, '_composite_img')

    @property
    def mask(self):
        return self._get('_mask')

    @mask.setter
    def mask(self, value):
        self.set_field(value, '_mask')

    @property
    def soft_mask(self):
        return self._get('_soft_mask')

    @soft_mask.setter
    def soft_mask(self, value):
        self.set_field(value, '_soft_mask')

    @property
    def ref_imgs(self):
        return self._get('_ref_imgs')

    @ref_imgs.setter
    def ref_imgs(self, value):
        self.set_field(value, '_ref_imgs')
