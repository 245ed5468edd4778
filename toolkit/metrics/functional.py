"""Per-image harmonization metrics, computed in float64 on values in 0–255.

Every function takes ``pred`` and ``target`` of shape ``(3, H, W)`` (or ``(B, 3, H, W)``)
and, for the foreground metrics, a ``(1, H, W)`` weight mask in [0, 1] (binary for the
default profile). Returns one value per image (shape ``()`` or ``(B,)``).

Definitions (the toolkit's default profile, see docs/metrics.md):

* ``MSE  = mean over H×W×3 of (pred − target)²``
* ``PSNR = 10·log10(peak² / MSE)``, ``peak = 255``
* ``fMSE = Σ_fg (pred − target)² / (3·N_fg)`` with ``N_fg = Σ mask``
* ``fPSNR = 10·log10(peak² / fMSE)``
* ``SSIM``: Gaussian window σ = 1.5 truncated at 3.5σ (11 taps), ``K1 = 0.01``,
  ``K2 = 0.03``, ``data_range = 255``, population covariances, symmetric border
  handling, the map's 5-pixel border excluded from the mean — identical to
  ``skimage.metrics.structural_similarity(..., gaussian_weights=True, sigma=1.5,
  use_sample_covariance=False, data_range=255, channel_axis=...)``.
* ``fSSIM = Σ mask·S̄ / Σ mask`` where ``S̄`` is the channel-mean SSIM map (whole map).

A zero error gives an infinite PSNR; MSE is clamped at :data:`MIN_MSE` so the value
stays finite (``10·log10(255²/1e-10) ≈ 148.1`` dB) and means stay meaningful.

Example:
    >>> import torch
    >>> target = torch.zeros(3, 8, 8)
    >>> pred = target + 2.0
    >>> float(mse(pred, target)), round(float(psnr(pred, target)), 4)
    (4.0, 42.1102)
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

MIN_MSE = 1e-10
SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5


def _as_batch(image: Tensor) -> Tensor:
    image = torch.as_tensor(image)
    if image.ndim == 3:
        image = image[None]
    if image.ndim != 4:
        raise ValueError(f'images must be (3, H, W) or (B, 3, H, W); got {tuple(image.shape)}')
    return image.to(torch.float64)


def _check_pair(pred: Tensor, target: Tensor) -> tuple[Tensor, Tensor, bool]:
    squeeze = torch.as_tensor(pred).ndim == 3
    pred, target = _as_batch(pred), _as_batch(target)
    if pred.shape != target.shape:
        raise ValueError(f'pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape')
    return pred, target, squeeze


def _check_mask(mask: Tensor, like: Tensor) -> Tensor:
    mask = _as_batch(mask)
    if mask.shape[1] != 1 or mask.shape[0] != like.shape[0] or mask.shape[-2:] != like.shape[-2:]:
        raise ValueError(f'mask must be (1, H, W) or (B, 1, H, W) matching the images {tuple(like.shape)}; '
                         f'got {tuple(mask.shape)}')
    return mask


def _out(values: Tensor, squeeze: bool) -> Tensor:
    return values[0] if squeeze else values


def peak_signal(target: Tensor, peak: Union[str, float] = 255.0) -> Tensor:
    """PSNR peak per image: a number, ``'target_max'`` or ``'target_range'`` (max − min of the target)."""
    target = _as_batch(target)
    flat = target.flatten(1)
    if peak == 'target_max':
        return flat.amax(1)
    if peak == 'target_range':
        return flat.amax(1) - flat.amin(1)
    if isinstance(peak, str):
        raise ValueError(f"peak must be a number, 'target_max' or 'target_range'; got {peak!r}")
    return torch.full((target.shape[0],), float(peak), dtype=torch.float64)


def mse(pred: Tensor, target: Tensor) -> Tensor:
    """Mean squared error over H×W×3, per image."""
    pred, target, squeeze = _check_pair(pred, target)
    return _out(((pred - target) ** 2).flatten(1).mean(1), squeeze)


def psnr_from_mse(mse_value: Tensor, peak: Tensor) -> Tensor:
    """``10·log10(peak² / max(mse, MIN_MSE))``."""
    return 10.0 * torch.log10(torch.as_tensor(peak, dtype=torch.float64) ** 2 /
                              torch.as_tensor(mse_value, dtype=torch.float64).clamp_min(MIN_MSE))


def psnr(pred: Tensor, target: Tensor, peak: Union[str, float] = 255.0) -> Tensor:
    """PSNR in dB, per image."""
    pred, target, squeeze = _check_pair(pred, target)
    return _out(psnr_from_mse(mse(pred, target), peak_signal(target, peak)), squeeze)


def foreground_mse(pred: Tensor, target: Tensor, mask: Tensor, definition: str = 'foreground') -> Tensor:
    """fMSE per image.

    Args:
        definition: ``'foreground'``: ``Σ mask·d² / (3·Σ mask)``;
            ``'full_image'``: ``MSE·H·W / Σ mask`` (the other published form, equal to the
            first only where the background of ``pred`` equals the target's).

    An image with ``Σ mask = 0`` gives NaN (undefined), never a silent 0.
    """
    pred, target, squeeze = _check_pair(pred, target)
    mask = _check_mask(mask, pred)
    area = mask.flatten(1).sum(1)
    squared = (pred - target) ** 2
    if definition == 'foreground':
        value = (squared * mask).flatten(1).sum(1) / (pred.shape[1] * area)
    elif definition == 'full_image':
        value = squared.flatten(1).mean(1) * pred.shape[-2] * pred.shape[-1] / area
    else:
        raise ValueError(f"definition must be 'foreground' or 'full_image'; got {definition!r}")
    value = torch.where(area > 0, value, torch.full_like(value, float('nan')))
    return _out(value, squeeze)


def _gaussian_taps(sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE) -> Tensor:
    radius = int(truncate * sigma + 0.5)
    offsets = torch.arange(-radius, radius + 1, dtype=torch.float64)
    taps = torch.exp(-0.5 * (offsets / sigma) ** 2)
    return taps / taps.sum()


def _symmetric_indices(length: int, radius: int) -> Tensor:
    """Index map of numpy/scipy 'symmetric'/'reflect' padding (edge sample repeated)."""
    return torch.from_numpy(np.pad(np.arange(length), radius, mode='symmetric'))


def gaussian_filter(images: Tensor, sigma: float = SSIM_SIGMA, truncate: float = SSIM_TRUNCATE) -> Tensor:
    """Separable Gaussian blur of ``(B, C, H, W)`` float64 with scipy's default 'reflect' border."""
    taps = _gaussian_taps(sigma, truncate).to(images.device)
    radius = (taps.numel() - 1) // 2
    batch, channels, height, width = images.shape
    flat = images.reshape(batch * channels, 1, height, width)
    rows = _symmetric_indices(height, radius).to(images.device)
    cols = _symmetric_indices(width, radius).to(images.device)
    flat = F.conv2d(flat[:, :, rows, :], taps.view(1, 1, -1, 1))
    flat = F.conv2d(flat[:, :, :, cols], taps.view(1, 1, 1, -1))
    return flat.reshape(batch, channels, height, width)


def ssim_map(pred: Tensor, target: Tensor, data_range: float = 255.0) -> Tensor:
    """Per-pixel, per-channel SSIM map ``(B, 3, H, W)`` (see the module docstring)."""
    pred, target, _ = _check_pair(pred, target)
    c1 = (0.01 * data_range) ** 2
    c2 = (0.03 * data_range) ** 2
    mu_x, mu_y = gaussian_filter(pred), gaussian_filter(target)
    var_x = gaussian_filter(pred * pred) - mu_x * mu_x
    var_y = gaussian_filter(target * target) - mu_y * mu_y
    cov_xy = gaussian_filter(pred * target) - mu_x * mu_y
    numerator = (2 * mu_x * mu_y + c1) * (2 * cov_xy + c2)
    denominator = (mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2)
    return numerator / denominator


def ssim(pred: Tensor, target: Tensor, data_range: float = 255.0) -> Tensor:
    """Mean SSIM per image, border of ``(11 − 1) // 2`` pixels excluded as scikit-image does."""
    squeeze = torch.as_tensor(pred).ndim == 3
    values = ssim_map(pred, target, data_range)
    pad = (_gaussian_taps().numel() - 1) // 2
    return _out(values[..., pad:-pad, pad:-pad].flatten(1).mean(1), squeeze)


def foreground_ssim(pred: Tensor, target: Tensor, mask: Tensor, data_range: float = 255.0) -> Tensor:
    """Mask-weighted mean of the channel-averaged SSIM map; NaN where the mask is empty."""
    squeeze = torch.as_tensor(pred).ndim == 3
    values = ssim_map(pred, target, data_range).mean(1, keepdim=True)
    mask = _check_mask(mask, values)
    area = mask.flatten(1).sum(1)
    result = (values * mask).flatten(1).sum(1) / area
    result = torch.where(area > 0, result, torch.full_like(result, float('nan')))
    return _out(result, squeeze)
