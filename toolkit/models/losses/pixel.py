"""Pixel losses on normalised images ``(B, 3, H, W)`` with a ``(B, 1, H, W)`` mask."""
from __future__ import annotations

from typing import Optional

import torch
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


@LOSSES.register_module()
class RelativeForegroundMSELoss(BaseHarmonizationLoss):
    """Per image, the log of how much the model changed the foreground error: ``log((fMSE(pred) + f) / (fMSE(composite)
    + f))``, averaged over the batch (needs the composite).

    Why: "is this composite better or worse than before?" is a question of the ratio, per image. The foreground MSE
    lets the far-off composites (errors in the thousands) outweigh the close ones (tens), so a model trained on it
    learns to move every composite a long way and makes the close ones worse; the log-ratio gives doubling a small
    error the same weight as halving a large one, and its gradient ``1 / (fMSE + f)`` is largest where the composite
    is already close. The floor ``f`` (``floor_levels`` on 0–255, 16 = 4 levels RMS, below what one sees) keeps an
    unchanged pair (fMSE 0) finite: moving it by ``f`` costs ``log 2``.

    Args:
        floor_levels: ``f`` in squared 8-bit levels.
        level_scale: levels per unit of the normalised images (127.5 for ``(x − 127.5) / 127.5``).
        min_area: floor of the foreground normaliser, as :class:`ForegroundMSELoss`.

    Example:
        >>> import math
        >>> target = torch.zeros(1, 3, 2, 2); mask = torch.ones(1, 1, 2, 2)
        >>> composite = target + 8 / 127.5; pred = target + 4 / 127.5  # fMSE 64 levels² → 16
        >>> loss = RelativeForegroundMSELoss()(pred, target, mask, composite)
        >>> round(float(loss), 6) == round(math.log((16 + 16) / (64 + 16)), 6)
        True
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_fg_log_ratio', floor_levels: float = 16.0,
                 level_scale: float = 127.5, min_area: float = 1.0):
        super().__init__(loss_weight, loss_name)
        if floor_levels <= 0 or level_scale <= 0:
            raise ValueError(f'floor_levels and level_scale must be > 0; got {floor_levels}, {level_scale}')
        self.floor = floor_levels / level_scale ** 2  # in squared normalised units
        self.min_area = min_area

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None) -> Tensor:
        if composite is None:
            raise ValueError(f'{type(self).__name__} compares with the composite: call it as loss(pred, target, mask, '
                             'composite)')
        area = (mask.sum(dim=(1, 2, 3)) * pred.shape[1]).clamp_min(self.min_area)
        after = (((pred - target) ** 2) * mask).sum(dim=(1, 2, 3)) / area
        before = (((composite - target) ** 2) * mask).sum(dim=(1, 2, 3)) / area
        return self.loss_weight * torch.log((after + self.floor) / (before + self.floor)).mean()
