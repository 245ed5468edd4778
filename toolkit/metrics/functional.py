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

from typing import Optional, Union

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


def mse(pred: Tensor, target: Tensor, mask: Optional[Tensor] = None) -> Tensor:
    """Mean squared error over H×W×3, per image; with ``mask``, of ``mask·d²`` (foreground error only, the "MSE"
    of DCCF and PCT-Net)."""
    pred, target, squeeze = _check_pair(pred, target)
    squared = (pred - target) ** 2
    if mask is not None:
        squared = squared * _check_mask(mask, pred)
    return _out(squared.flatten(1).mean(1), squeeze)


def psnr_from_mse(mse_value: Tensor, peak: Tensor, epsilon: float = 0.0) -> Tensor:
    """``10·log10(peak² / (mse + epsilon))``; with ``epsilon = 0`` the MSE is clamped at ``MIN_MSE`` instead."""
    mse_value = torch.as_tensor(mse_value, dtype=torch.float64)
    denominator = mse_value + epsilon if epsilon else mse_value.clamp_min(MIN_MSE)
    return 10.0 * torch.log10(torch.as_tensor(peak, dtype=torch.float64) ** 2 / denominator)


def psnr(pred: Tensor, target: Tensor, peak: Union[str, float] = 255.0) -> Tensor:
    """PSNR in dB, per image."""
    pred, target, squeeze = _check_pair(pred, target)
    return _out(psnr_from_mse(mse(pred, target), peak_signal(target, peak)), squeeze)


def foreground_mse(pred: Tensor, target: Tensor, mask: Tensor, definition: str = 'foreground',
                   epsilon: float = 0.0) -> Tensor:
    """fMSE per image.

    Args:
        definition: ``'foreground'``: ``Σ mask·d² / (3·Σ mask + epsilon)``;
            ``'full_image'``: ``MSE·H·W / Σ mask`` (the other published form, equal to the
            first only where the background of ``pred`` equals the target's).
        epsilon: added to the denominator of the foreground form (1e-6 in iS2AM-derived code).

    An image with ``Σ mask = 0`` gives NaN (undefined), never a silent 0.
    """
    pred, target, squeeze = _check_pair(pred, target)
    mask = _check_mask(mask, pred)
    area = mask.flatten(1).sum(1)
    squared = (pred - target) ** 2
    if definition == 'foreground':
        value = (squared * mask).flatten(1).sum(1) / (pred.shape[1] * area + epsilon)
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


def _ssim_terms(pred: Tensor, target: Tensor, data_range: float) -> Tensor:
    """SSIM map of rows whose Gaussian neighbourhood is fully inside ``pred``/``target`` (``(C, h + 2r, W)`` input with
    ``r`` halo rows above and below): vertical pass without padding, horizontal pass with scipy's 'reflect' border."""
    taps = _gaussian_taps().to(pred.device)
    radius = (taps.numel() - 1) // 2
    cols = _symmetric_indices(pred.shape[-1], radius).to(pred.device)

    def blur(x):
        x = F.conv2d(x[:, None], taps.view(1, 1, -1, 1))  # rows: valid
        return F.conv2d(x[:, :, :, cols], taps.view(1, 1, 1, -1))[:, 0]

    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_x, mu_y = blur(pred), blur(target)
    var_x = blur(pred * pred) - mu_x * mu_x
    var_y = blur(target * target) - mu_y * mu_y
    cov_xy = blur(pred * target) - mu_x * mu_y
    return (2 * mu_x * mu_y + c1) * (2 * cov_xy + c2) / ((mu_x ** 2 + mu_y ** 2 + c1) * (var_x + var_y + c2))


def banded_sums(pred, target, weights, data_range: float = 255.0, band_rows: int = 32) -> dict:
    """The sums every metric needs, accumulated over row bands of ``(H, W, 3)`` images, so memory does not grow
    with the image: ``squared`` (Σd²), ``weighted_squared`` (Σ w·d² over channels), ``weight`` (Σw over pixels),
    ``ssim`` / ``ssim_count`` (SSIM over the map without its border, as scikit-image), ``weighted_ssim`` (Σ w·S̄),
    ``pixels`` (H·W). Each band is computed in float64 with its Gaussian halo, so the sums equal the whole-image
    computation of :func:`ssim_map`.

    Args:
        pred, target: ``(H, W, 3)`` arrays on 0–255; weights: ``(H, W)`` in [0, 1].
    """
    height, width = target.shape[:2]
    radius = (_gaussian_taps().numel() - 1) // 2
    rows = _symmetric_indices(height, radius).numpy()
    sums = dict(squared=0.0, weighted_squared=0.0, weight=0.0, ssim=0.0, ssim_count=0, weighted_ssim=0.0,
                pixels=height * width)
    for start in range(0, height, band_rows):
        stop = min(height, start + band_rows)
        index = rows[start:stop + 2 * radius]  # the band and its halo (reflected at the image's own edges)
        x = torch.from_numpy(np.ascontiguousarray(pred[index], dtype=np.float64)).permute(2, 0, 1)
        y = torch.from_numpy(np.ascontiguousarray(target[index], dtype=np.float64)).permute(2, 0, 1)
        w = torch.from_numpy(np.ascontiguousarray(weights[start:stop], dtype=np.float64))
        core_x, core_y = x[:, radius:radius + stop - start], y[:, radius:radius + stop - start]
        squared = (core_x - core_y) ** 2
        sums['squared'] += float(squared.sum())
        sums['weighted_squared'] += float((squared * w).sum())
        sums['weight'] += float(w.sum())
        ssim_rows = _ssim_terms(x, y, data_range)  # (3, stop − start, W)
        sums['weighted_ssim'] += float((ssim_rows.mean(0) * w).sum())
        first, last = max(start, radius), min(stop, height - radius)  # scikit-image drops a `radius` border
        if last > first and width > 2 * radius:
            inner = ssim_rows[:, first - start:last - start, radius:width - radius]
            sums['ssim'] += float(inner.sum())
            sums['ssim_count'] += inner.numel()
    return sums
