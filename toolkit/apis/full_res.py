"""Bringing a low-resolution harmonization back to full resolution without losing detail.

Harmonization networks run at 256×256. Upsampling their output bilinearly blurs every foreground
texture. Instead we transfer the *colour change*: at low resolution we fit how the network changed
each colour and apply that change to the full-resolution pixels. The detail comes from the
full-resolution composite; only the smooth colour mapping comes from the network.

The change is fitted in two parts, so that the common cases are reproduced **exactly**:

1. one global affine map ``t ≈ M·s + c`` over the foreground (least squares, regularised towards the
   identity): a network that left the colours alone (``M = I``, ``c = 0``) or changed them by one
   global affine map is carried over as that map, at any resolution;
2. what the global map leaves, ``r = t − (M·s + c)``, as local affine maps ``r ≈ ΔA·s + Δb`` over small
   windows (a guided-filter-style ridge regression towards zero, as in bilateral-guided upsampling),
   box-smoothed and up-sampled bilinearly.

Models whose change *is* a global colour function (they implement ``color_mapping``, e.g. the
colour-curve harmonizer) skip the fit: their function is applied to the full-resolution pixels.

Memory and time: the full-resolution step runs in float32 over bands of rows
(:func:`apply_in_bands`), so its extra memory does not grow with the image; the fit itself is at the
network's resolution.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from toolkit.ops.color_fit import channel_outer, fit_global_affine

#: a residual below this (in [0, 1] units, 0.026 of an 8-bit level) everywhere is no local change
NEGLIGIBLE_RESIDUAL = 1e-4


def _box(x: Tensor, radius: int) -> Tensor:
    return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def _local_residual_affine(source: Tensor, residual: Tensor, weights: Tensor, radius: int,
                           eps: float) -> tuple[Tensor, Tensor]:
    """Per-window ridge regression ``residual ≈ ΔA·source + Δb`` (towards zero), weighted and box-smoothed.

    Returns ``ΔA (B, 3, 3, h, w)`` and ``Δb (B, 3, h, w)``; windows without weight get zeros.
    """
    batch, _, height, width = source.shape
    window = _box(weights, radius)
    safe = window.clamp_min(1e-12)
    mean_s = _box(weights * source, radius) / safe
    mean_r = _box(weights * residual, radius) / safe
    second_ss = _box((weights[:, None] * channel_outer(source, source)).flatten(1, 2), radius).view(batch, 3, 3, height,
                                                                                              width) / safe[:, None]
    second_rs = _box((weights[:, None] * channel_outer(residual, source)).flatten(1, 2), radius).view(batch, 3, 3, height,
                                                                                                width) / safe[:, None]
    cov_ss = second_ss - channel_outer(mean_s, mean_s)
    cov_rs = second_rs - channel_outer(mean_r, mean_s)
    eye = torch.eye(3, dtype=source.dtype, device=source.device)
    system = cov_ss.permute(0, 3, 4, 1, 2) + eps * eye  # (B, h, w, 3, 3)
    solution = torch.linalg.solve(system, cov_rs.permute(0, 3, 4, 2, 1))  # (B, h, w, i, c) = ΔAᵀ
    delta = solution.permute(0, 4, 3, 1, 2)  # (B, c, i, h, w)
    offset = mean_r - (delta * mean_s[:, None]).sum(2)
    present = (window > 1e-9)
    delta = torch.where(present[:, None], delta, torch.zeros_like(delta))
    offset = torch.where(present, offset, torch.zeros_like(offset))
    delta = _box(delta.reshape(batch, 9, height, width), radius).view(batch, 3, 3, height, width)
    return delta, _box(offset, radius)


@dataclass
class ColourTransformFit:
    """A fitted colour change: global ``M (B, 3, 3)``, ``c (B, 3)`` plus local low-resolution corrections
    ``ΔA (B, 3, 3, h, w)`` and ``Δb (B, 3, h, w)`` (``None`` when they are exactly zero)."""

    matrix: Tensor
    offset: Tensor
    local_matrix: Optional[Tensor]
    local_offset: Optional[Tensor]

    def dense(self) -> tuple[Tensor, Tensor]:
        """Per-pixel ``A (B, 3, 3, h, w)`` and ``b (B, 3, h, w)`` at the fit's resolution."""
        if self.local_matrix is None:
            raise ValueError('this fit has no local part; its map is matrix·x + offset everywhere')
        return (self.matrix[..., None, None] + self.local_matrix,
                self.offset[..., None, None] + self.local_offset)


def fit_colour_transform(source: Tensor, target: Tensor, weights: Optional[Tensor] = None, radius: int = 2,
                         eps: float = 1e-3) -> ColourTransformFit:
    """Fit the colour change from ``source`` to ``target`` (global affine + local residual, see the module doc).

    Args:
        source, target: ``(B, 3, h, w)`` in [0, 1] (the network's input and output at its resolution).
        weights: ``(B, 1, h, w)`` ≥ 0, where the change matters (the foreground mask); default everywhere.
        radius: window radius of the local fit.
        eps: ridge of the local fit (in [0, 1]² colour units): larger = smoother local corrections.

    Example:
        >>> src = torch.rand(1, 3, 16, 16, dtype=torch.float64)
        >>> fit = fit_colour_transform(src, 0.5 * src + 0.1)   # the API's default eps
        >>> torch.allclose(fit.matrix, 0.5 * torch.eye(3, dtype=torch.float64), atol=1e-4), fit.local_matrix is None
        (True, True)
    """
    source, target = source.double(), target.double()
    weights = torch.ones_like(source[:, :1]) if weights is None else weights.double()
    matrix, offset = fit_global_affine(source, target, weights)
    residual = target - (torch.einsum('bci,bihw->bchw', matrix, source) + offset[..., None, None])
    if float(residual.abs().max()) <= NEGLIGIBLE_RESIDUAL:  # the change is the global map: nothing local to carry
        return ColourTransformFit(matrix, offset, None, None)
    local_matrix, local_offset = _local_residual_affine(source, residual, weights, radius, eps)
    return ColourTransformFit(matrix, offset, local_matrix, local_offset)


def fit_local_affine(source: Tensor, target: Tensor, radius: int = 2, eps: float = 1e-3,
                     weights: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    """Per-pixel affine colour maps ``A (B, 3, 3, h, w)``, ``b (B, 3, h, w)`` with ``target ≈ A·source + b``.

    Example:
        >>> src = F.interpolate(torch.rand(1, 3, 4, 4), size=32, mode='bilinear')  # a smooth image
        >>> A, b = fit_local_affine(src, src ** 2)  # not one global affine map, but locally nearly one
        >>> float((apply_local_affine(src, A, b) - src ** 2).abs().mean()) < 0.005
        True
    """
    fit = fit_colour_transform(source, target, weights, radius, eps)
    if fit.local_matrix is None:
        batch, _, height, width = source.shape
        return (fit.matrix[..., None, None].expand(batch, 3, 3, height, width).contiguous(),
                fit.offset[..., None, None].expand(batch, 3, height, width).contiguous())
    return fit.dense()


def apply_local_affine(image: Tensor, A: Tensor, b: Tensor) -> Tensor:
    """``out_c = Σ_i A[c, i]·image_i + b_c`` per pixel; ``A``/``b`` must have the image's size."""
    return (A * image.to(A.dtype)[:, None]).sum(2) + b


# ------------------------------------------------------------------------------- band-wise application
def _row_taps(out_size: int, in_size: int, start: int, stop: int, device=None):
    """Source rows and weights of ``F.interpolate(mode='bilinear', align_corners=False)`` for rows ``start:stop``."""
    position = (torch.arange(start, stop, dtype=torch.float64, device=device) + 0.5) * (in_size / out_size) - 0.5
    position = position.clamp_min(0)
    low = position.floor().long().clamp_max(in_size - 1)
    high = (low + 1).clamp_max(in_size - 1)
    return low, high, (position - low).float()


def resample_rows(maps: Tensor, out_hw: tuple[int, int], row_start: int, row_stop: int) -> Tensor:
    """Rows ``row_start:row_stop`` of ``F.interpolate(maps, out_hw, mode='bilinear', align_corners=False)``.

    ``maps`` is ``(C, h, w)``; the result ``(C, row_stop − row_start, W)`` is computed without the rest: the
    rows are interpolated on the small grid, then each row is stretched with a 1-D linear interpolation.

    Example:
        >>> maps = torch.rand(2, 5, 7)
        >>> full = F.interpolate(maps[None], size=(31, 23), mode='bilinear', align_corners=False)[0]
        >>> torch.allclose(resample_rows(maps, (31, 23), 10, 20), full[:, 10:20], atol=1e-6)
        True
    """
    channels, height, width = maps.shape
    top, bottom, weight = _row_taps(out_hw[0], height, row_start, row_stop, maps.device)
    rows = torch.lerp(maps[:, top], maps[:, bottom], weight[None, :, None].to(maps.dtype))  # (C, rows, w): small
    stretched = F.interpolate(rows.reshape(1, -1, width), size=out_hw[1], mode='linear', align_corners=False)
    return stretched.view(channels, row_stop - row_start, out_hw[1])


def band_rows(height: int, width: int, pixels_per_band: int = 1 << 18) -> list[tuple[int, int]]:
    """Row ranges covering ``height`` with about ``pixels_per_band`` pixels each (a few MB of float32 per map:
    small enough to stay in cache, large enough that Python's per-band cost does not matter)."""
    step = max(1, pixels_per_band // max(1, width))
    return [(start, min(height, start + step)) for start in range(0, height, step)]


def apply_in_bands(composite: np.ndarray, soft_mask: np.ndarray, harmonize_band: Callable[[Tensor, int, int], Tensor],
                   out: Optional[np.ndarray] = None, pixels_per_band: int = 1 << 18, device='cpu') -> np.ndarray:
    """Harmonize a full-resolution composite band by band and blend it into the background.

    Args:
        composite: ``(H, W, 3)`` uint8 RGB.
        soft_mask: ``(H, W)`` uint8 (0–255) or float in [0, 1].
        harmonize_band: ``(1, 3, h, W)`` float32 band in [0, 1] and its rows ``start, stop`` → the
            harmonized band ``(1, 3, h, W)`` in [0, 1] (a new tensor).
        out: where to write (default: a new array; may be ``composite`` itself to work in place).

    Returns:
        ``(H, W, 3)`` uint8 ``round(harmonized·m + composite·(1 − m))``; where ``m = 0`` exactly the composite
        (``composite + (harmonized − composite)·0``).
    """
    height, width = composite.shape[:2]
    out = np.empty_like(composite) if out is None else out
    scale = 255.0 if soft_mask.dtype == np.uint8 else 1.0
    for start, stop in band_rows(height, width, pixels_per_band):
        pixels = torch.empty((3, stop - start, width), dtype=torch.float32, device=device)
        pixels.copy_(torch.from_numpy(composite[start:stop]).to(device).permute(2, 0, 1))  # one pass: HWC u8 → CHW f32
        weight = torch.from_numpy(np.ascontiguousarray(soft_mask[start:stop])).to(device).float().div_(scale)
        harmonized = harmonize_band((pixels / 255.0)[None], start, stop)[0]
        blended = harmonized.clamp_(0, 1).mul_(255.0).sub_(pixels).mul_(weight).add_(pixels).round_()
        out[start:stop] = blended.permute(1, 2, 0).to(torch.uint8).cpu().numpy()
    return out


def colour_transform_band(fit: ColourTransformFit, full_hw: tuple[int, int]) -> Callable[[Tensor, int, int], Tensor]:
    """A ``harmonize_band`` for :func:`apply_in_bands` that applies a fitted colour change in float32."""
    matrix, offset = fit.matrix[0].float(), fit.offset[0].float()
    local = None
    if fit.local_matrix is not None:  # channels: ΔA[c, i] at 3c + i, then Δb[c]
        local = torch.cat([fit.local_matrix[0].reshape(9, *fit.local_matrix.shape[-2:]), fit.local_offset[0]]).float()

    def harmonize_band(band: Tensor, start: int, stop: int) -> Tensor:
        image = band[0]
        if local is None:
            mixed = offset.to(image.device)[:, None, None].expand_as(image).clone()
            for channel in range(3):
                mixed.addcmul_(matrix[:, channel].to(image.device)[:, None, None], image[channel:channel + 1])
            return mixed[None]
        maps = resample_rows(local.to(image.device), full_hw, start, stop)
        maps[:9].view(3, 3, -1).add_(matrix.to(image.device)[..., None])
        mixed = maps[9:].add_(offset.to(image.device)[:, None, None])
        for channel in range(3):
            mixed.addcmul_(maps[channel:9:3], image[channel:channel + 1])
        return mixed[None]

    return harmonize_band


def upsample_colour_transform(low_input: Tensor, low_output: Tensor, full_input: Tensor, radius: int = 2,
                              eps: float = 1e-3, weights: Optional[Tensor] = None) -> Tensor:
    """Apply the low-resolution colour change to a full-resolution image (one image, in memory).

    Args:
        low_input, low_output: ``(1, 3, h, w)`` in [0, 1].
        full_input: ``(1, 3, H, W)`` in [0, 1].
        weights: ``(1, 1, h, w)`` where the change matters (default everywhere).

    Returns:
        ``(1, 3, H, W)`` float32 in [0, 1].
    """
    fit = fit_colour_transform(low_input, low_output, weights, radius, eps)
    band = colour_transform_band(fit, tuple(full_input.shape[-2:]))
    return band(full_input.float(), 0, full_input.shape[-2]).clamp(0, 1)
