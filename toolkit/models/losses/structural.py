"""Structural losses: what the pixel losses do not see (texture), on normalised images ``(B, 3, H, W)``."""
from __future__ import annotations

from typing import Optional

from torch import Tensor

from toolkit.interfaces import BaseHarmonizationLoss
from toolkit.metrics.functional import ssim_map
from toolkit.registry import LOSSES

from .pixel import _foreground_mean


@LOSSES.register_module()
class ForegroundSSIMLoss(BaseHarmonizationLoss):
    """``loss_weight · (1 − foreground SSIM)``, per image, averaged over the batch.

    The foreground SSIM is the metric's (:func:`toolkit.metrics.functional.foreground_ssim`: the Gaussian SSIM map of
    scikit-image, averaged over the channels, weighted by the mask), on the levels 0–255 that the normalised images
    stand for (``level = value · scale + offset``; the zoo's networks see ``(level − 127.5) / 127.5``). Why: a network
    that outputs the image itself learns the colour change before the texture, and its L1 terms barely charge a
    blurred foreground (an average error of a few levels); the benchmark's texture bound (foreground SSIM within 0.02
    of the input's) is this quantity.

    Args:
        loss_weight: multiplier.
        scale, offset: map the model's normalised values back to 0–255 levels (its data preprocessor's std, mean).
        min_area: floors each image's mask area (in pixels) so an empty mask gives zero, not NaN.

    Example:
        >>> import torch
        >>> loss = ForegroundSSIMLoss(loss_weight=1.0)
        >>> image, mask = torch.rand(2, 3, 32, 32) * 2 - 1, torch.ones(2, 1, 32, 32)
        >>> float(loss(image, image, mask))
        0.0
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_fg_ssim', scale: float = 127.5,
                 offset: float = 127.5, min_area: float = 1.0):
        super().__init__(loss_weight, loss_name)
        self.scale, self.offset, self.min_area = scale, offset, min_area

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None) -> Tensor:
        if pred.shape != target.shape or pred.ndim != 4 or mask.shape != (pred.shape[0], 1, *pred.shape[2:]):
            raise ValueError(f'expected pred and target (B, 3, H, W) and mask (B, 1, H, W); got {tuple(pred.shape)}, '
                             f'{tuple(target.shape)}, {tuple(mask.shape)}')
        similarity = ssim_map(pred * self.scale + self.offset, target * self.scale + self.offset).mean(1, keepdim=True)
        # one channel, so the pixel losses' per-image normaliser floors the area in pixels
        return self.loss_weight * _foreground_mean(1 - similarity, mask, self.min_area)
