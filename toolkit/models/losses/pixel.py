"""Pixel losses on normalised images ``(B, 3, H, W)`` with a ``(B, 1, H, W)`` mask."""
from __future__ import annotations

from typing import Optional

from torch import Tensor

from toolkit.interfaces import BaseHarmonizationLoss
from toolkit.registry import LOSSES


@LOSSES.register_module()
class L1Loss(BaseHarmonizationLoss):
    """``loss_weight · mean |pred − target|`` over the whole image."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_l1'):
        super().__init__(loss_weight, loss_name)

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None) -> Tensor:
        return self.loss_weight * (pred - target).abs().mean()


@LOSSES.register_module()
class MSELoss(BaseHarmonizationLoss):
    """``loss_weight · mean (pred − target)²`` over the whole image."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_mse'):
        super().__init__(loss_weight, loss_name)

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None) -> Tensor:
        return self.loss_weight * ((pred - target) ** 2).mean()


def _foreground_mean(error: Tensor, mask: Tensor, min_area: float) -> Tensor:
    """Per image ``Σ mask·error / max(min_area, C·Σ mask)``, averaged over the batch."""
    channels = error.shape[1]
    area = (mask.sum(dim=(1, 2, 3)) * channels).clamp_min(min_area)
    return ((error * mask).sum(dim=(1, 2, 3)) / area).mean()


@LOSSES.register_module()
class ForegroundL1Loss(BaseHarmonizationLoss):
    """Mean absolute error inside the foreground, per image, then over the batch.

    ``min_area`` floors the normaliser (in pixel·channel units) so a tiny or empty
    mask gives a small, finite loss instead of a division by zero.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_fg_l1', min_area: float = 1.0):
        super().__init__(loss_weight, loss_name)
        self.min_area = min_area

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None) -> Tensor:
        return self.loss_weight * _foreground_mean((pred - target).abs(), mask, self.min_area)


@LOSSES.register_module()
class ForegroundMSELoss(BaseHarmonizationLoss):
    """Squared error inside the foreground normalised by ``max(min_area, foreground area)``."""

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_fg_mse', min_area: float = 1.0):
        super().__init__(loss_weight, loss_name)
        self.min_area = min_area

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None) -> Tensor:
        return self.loss_weight * _foreground_mean((pred - target) ** 2, mask, self.min_area)
