"""Masked per-channel statistics shared by every fusion block (RAIN, AdaIN-style, style fusion)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def resize_mask_to(mask: Tensor, size) -> Tensor:
    """Resize a ``(B, 1, H, W)`` mask to ``size = (h, w)``.

    Shrinking uses area averaging (the fraction of foreground in each cell, so thin
    objects do not vanish); enlarging is bilinear. Values stay in [0, 1].
    """
    if mask.shape[-2:] == tuple(size):
        return mask
    if size[0] <= mask.shape[-2] and size[1] <= mask.shape[-1]:
        return F.adaptive_avg_pool2d(mask, size)
    return F.interpolate(mask, size=size, mode='bilinear', align_corners=False).clamp(0, 1)


def masked_mean_std(features: Tensor, mask: Tensor, eps: float = 1e-5) -> tuple[Tensor, Tensor]:
    """Per-sample, per-channel mean and standard deviation of ``features`` weighted by ``mask``.

    Args:
        features: ``(B, C, H, W)``.
        mask: ``(B, 1, H, W)`` weights in [0, 1] (resized to the features if needed).
        eps: added to the variance before the square root, and the floor of the mask area.

    Returns:
        ``mean, std`` of shape ``(B, C, 1, 1)``. Where the mask is empty for a sample, the
        mean is 0 and the std is ``sqrt(eps)`` (finite, no NaN), so normalising by it is a
        no-op scale rather than a division by zero.

    Example:
        >>> x = torch.tensor([[[[1., 3.], [5., 100.]]]])
        >>> m = torch.tensor([[[[1., 1.], [1., 0.]]]])
        >>> mean, std = masked_mean_std(x, m, eps=0.0)
        >>> float(mean), round(float(std), 4)   # statistics of {1, 3, 5}
        (3.0, 1.633)
    """
    if features.ndim != 4 or mask.ndim != 4 or mask.shape[1] != 1 or mask.shape[0] != features.shape[0]:
        raise ValueError(f'features must be (B, C, H, W) and mask (B, 1, H, W); got {tuple(features.shape)} '
                         f'and {tuple(mask.shape)}')
    mask = resize_mask_to(mask.to(features.dtype), features.shape[-2:])
    area = mask.sum(dim=(2, 3), keepdim=True)
    safe_area = area.clamp_min(max(eps, 1e-12))
    mean = (features * mask).sum(dim=(2, 3), keepdim=True) / safe_area
    variance = (((features - mean) ** 2) * mask).sum(dim=(2, 3), keepdim=True) / safe_area
    std = torch.sqrt(variance + eps)
    return mean, std
