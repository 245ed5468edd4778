"""Masked per-channel statistics shared by every fusion block (RAIN, AdaIN, style fusion) and colour baselines."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor

from .precision import float32_op


def resize_mask_to(mask: Tensor, size, mode: str = 'area') -> Tensor:
    """Resize a ``(B, 1, H, W)`` mask to ``size = (h, w)``.

    Args:
        mode: ``'area'`` (default): shrinking averages each cell (the fraction of
            foreground, so thin objects do not vanish), enlarging is bilinear;
            ``'nearest'``: nearest neighbour (binary stays binary; what RainNet does).
    """
    size = tuple(int(v) for v in size)
    if mask.shape[-2:] == size:
        return mask
    if mode == 'nearest':
        return F.interpolate(mask, size=size, mode='nearest')
    if mode != 'area':
        raise ValueError(f"mode must be 'area' or 'nearest'; got {mode!r}")
    if size[0] <= mask.shape[-2] and size[1] <= mask.shape[-1]:
        return F.adaptive_avg_pool2d(mask, size)
    return F.interpolate(mask, size=size, mode='bilinear', align_corners=False).clamp(0, 1)


@float32_op
def masked_mean_std(features: Tensor, mask: Optional[Tensor] = None, eps: float = 1e-5, unbiased: bool = False,
                    resize_mode: str = 'area') -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and standard deviation of ``features`` over a (soft) region.

    With a mask ``r`` (the region-aware normalisation of RainNet/RAIN):
    ``mean = Σ x·r / (Σ r + eps)``, ``var = Σ (x − mean)²·r / (Σ r + eps)``, ``std = sqrt(var + eps)``.
    Without a mask (plain AdaIN statistics over the whole map): the exact mean, the population
    (or, with ``unbiased``, the ``N − 1``) variance, ``std = sqrt(var + eps)``.

    Args:
        features: ``(B, C, H, W)``.
        mask: ``(B, 1, H, W)`` weights in [0, 1], resized to the features with ``resize_mode`` when
            needed; ``None`` = the whole map.
        eps: stabiliser (see the formulas).
        unbiased: ``N − 1`` variance (whole-map statistics only).

    Returns:
        ``mean, std`` of shape ``(B, C, 1, 1)``, float32 (or float64 for float64 input) even under autocast: a
        variance computed in bfloat16 loses the spread of a near-constant region. An empty region gives mean 0
        and std ``sqrt(eps)``: finite, so normalising by it never produces NaN.

    Example:
        >>> x = torch.tensor([[[[1., 3.], [5., 100.]]]])
        >>> m = torch.tensor([[[[1., 1.], [1., 0.]]]])
        >>> mean, std = masked_mean_std(x, m, eps=0.0)
        >>> float(mean), round(float(std), 4)   # statistics of {1, 3, 5}
        (3.0, 1.633)
    """
    if features.ndim != 4:
        raise ValueError(f'features must be (B, C, H, W); got {tuple(features.shape)}')
    if mask is None:
        flat = features.flatten(2)
        mean = flat.mean(dim=2)
        variance = flat.var(dim=2, unbiased=unbiased) if flat.shape[2] > 1 else torch.zeros_like(mean)
        return mean[..., None, None], torch.sqrt(variance + eps)[..., None, None]
    if unbiased:
        raise ValueError('unbiased variance is only defined for whole-map statistics (mask=None)')
    if mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[0] != features.shape[0]:
        raise ValueError(f'mask must be (B, 1, H, W) with B = {features.shape[0]}; got {tuple(mask.shape)}')
    mask = resize_mask_to(mask.to(features.dtype), features.shape[-2:], resize_mode)
    denominator = (mask.sum(dim=(2, 3), keepdim=True) + eps).clamp_min(1e-12)
    mean = (features * mask).sum(dim=(2, 3), keepdim=True) / denominator
    variance = (((features - mean) ** 2) * mask).sum(dim=(2, 3), keepdim=True) / denominator
    return mean, torch.sqrt(variance + eps)
