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

Memory and time: the full-resolution step runs in float32 over bands of rows of the box around the
foreground (:func:`apply_in_bands`), with whole-band NumPy/OpenCV operations, so its extra memory does not
grow with the image and it does not depend on a thread pool (a machine busy with other jobs slowed the
earlier per-band torch operations several-fold); the fit itself is at the network's resolution. It runs on
the CPU whatever the network's device: it is memory-bound, and moving the image to a GPU and back costs as
much as the step itself.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from toolkit.ops.color_fit import affine_levels, channel_outer, fit_global_affine, levels_matrix

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
    def windowed_second_moment(a: Tensor, b: Tensor) -> Tensor:
        summed = _box((weights[:, None] * channel_outer(a, b)).flatten(1, 2), radius)
        return summed.view(batch, 3, 3, height, width) / safe[:, None]

    second_ss = windowed_second_moment(source, source)
    second_rs = windowed_second_moment(residual, source)
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
def _linear_taps(out_size: int, in_size: int, start: int, stop: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Source indices and weights of ``F.interpolate(mode='bilinear', align_corners=False)`` along one axis, for
    output positions ``start:stop`` (half-pixel centres, clamped at the borders)."""
    position = (np.arange(start, stop, dtype=np.float64) + 0.5) * (in_size / out_size) - 0.5
    position = np.maximum(position, 0.0)
    low = np.minimum(np.floor(position).astype(np.int64), in_size - 1)
    high = np.minimum(low + 1, in_size - 1)
    return low, high, (position - low).astype(np.float32)


def resample_window(maps: np.ndarray, out_hw: tuple[int, int], rows: tuple[int, int],
                    cols: tuple[int, int]) -> np.ndarray:
    """The window ``rows × cols`` of ``maps (C, h, w)`` resized bilinearly to ``out_hw`` (PyTorch's
    ``align_corners=False`` convention), without the rest of the image: ``(rows, cols, C)`` float32.

    The rows are interpolated on the small grid; the columns by OpenCV's linear resize of that strip (the same
    half-pixel taps, in one vectorised pass over all channels), of which the window's columns are kept.

    Example:
        >>> maps = torch.rand(2, 5, 7)
        >>> full = F.interpolate(maps[None], size=(31, 23), mode='bilinear', align_corners=False)[0]
        >>> window = resample_window(maps.numpy(), (31, 23), (10, 20), (3, 17))
        >>> np.allclose(window, full[:, 10:20, 3:17].permute(1, 2, 0).numpy(), atol=1e-5)
        True
    """
    import cv2
    maps = np.asarray(maps, dtype=np.float32)
    channels = maps.shape[0]
    top, bottom, row_weight = _linear_taps(out_hw[0], maps.shape[1], *rows)
    row_weight = row_weight[None, :, None]
    strip = maps[:, top] * (1 - row_weight) + maps[:, bottom] * row_weight  # (C, rows, w): small
    strip = np.ascontiguousarray(strip.transpose(1, 2, 0))  # (rows, w, C)
    wide = cv2.resize(strip, (out_hw[1], strip.shape[0]), interpolation=cv2.INTER_LINEAR)
    return wide.reshape(strip.shape[0], out_hw[1], channels)[:, cols[0]:cols[1]]


def band_rows(height: int, width: int, pixels_per_band: int = 1 << 20) -> list[tuple[int, int]]:
    """Row ranges covering ``height`` with about ``pixels_per_band`` pixels each (a few MB of float32 per band:
    large enough that the per-band cost of Python does not matter, small enough that memory does not grow with
    the image)."""
    step = max(1, pixels_per_band // max(1, width))
    return [(start, min(height, start + step)) for start in range(0, height, step)]


def foreground_window(soft_mask: np.ndarray) -> Optional[tuple[int, int, int, int]]:
    """``(row_start, row_stop, col_start, col_stop)`` of the smallest box holding every pixel with a mask above
    zero, or ``None`` when there is none: outside it the output is the composite, so nothing is computed there.

    Example:
        >>> mask = np.zeros((6, 8), np.uint8); mask[2:4, 1:7] = 255
        >>> foreground_window(mask)
        (2, 4, 1, 7)
    """
    rows = np.flatnonzero(soft_mask.any(axis=1))
    if not rows.size:
        return None
    cols = np.flatnonzero(soft_mask[rows[0]:rows[-1] + 1].any(axis=0))
    return int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1


#: ``harmonize_band(pixels (h, w, 3) uint8, (row_start, row_stop), (col_start, col_stop))`` → the harmonized
#: pixels ``(h, w, 3)`` float32 on 0–255 (unclipped; a new array or a view the caller may not write to)
BandFunction = Callable[[np.ndarray, tuple[int, int], tuple[int, int]], np.ndarray]


def apply_in_bands(composite: np.ndarray, soft_mask: np.ndarray, harmonize_band: BandFunction,
                   out: Optional[np.ndarray] = None, pixels_per_band: int = 1 << 20,
                   strength: float = 1.0) -> np.ndarray:
    """Harmonize a full-resolution composite band by band and blend it into the background.

    Only the box around the foreground (:func:`foreground_window`) is computed, in bands of about
    ``pixels_per_band`` pixels, with whole-band NumPy/OpenCV operations: no thread pool (each call is one
    single-threaded pass over a few MB), so the step neither needs nor fights for a second core.

    Args:
        composite: ``(H, W, 3)`` uint8 RGB.
        soft_mask: ``(H, W)`` uint8 (0–255) or float in [0, 1].
        harmonize_band: see :data:`BandFunction`.
        out: where to write (default: a new array; may be ``composite`` itself to work in place).
        strength: the fraction ``s`` of the change to apply (1: all of it; 0: the composite unchanged).

    Returns:
        ``(H, W, 3)`` uint8 ``round(clip(harmonized)·s·m + composite·(1 − s·m))``; where ``m = 0`` exactly the
        composite.

    Example:
        >>> image = np.full((4, 5, 3), 100, np.uint8); mask = np.zeros((4, 5), np.uint8); mask[1:3, 1:3] = 255
        >>> out = apply_in_bands(image, mask, lambda pixels, rows, cols: pixels * 1.5)
        >>> int(out[1, 1, 0]), int(out[0, 0, 0])
        (150, 100)
    """
    if out is None:
        out = composite.copy()
    elif out is not composite:
        np.copyto(out, composite)
    window = foreground_window(soft_mask)
    if window is None:
        return out
    row_start, row_stop, col_start, col_stop = window
    scale = np.float32((1.0 / 255.0 if soft_mask.dtype == np.uint8 else 1.0) * strength)
    for start, stop in band_rows(row_stop - row_start, col_stop - col_start, pixels_per_band):
        rows, cols = (row_start + start, row_start + stop), (col_start, col_stop)
        pixels = composite[rows[0]:rows[1], col_start:col_stop]
        weight = soft_mask[rows[0]:rows[1], col_start:col_stop].astype(np.float32) * scale
        harmonized = np.clip(harmonize_band(pixels, rows, cols), 0.0, 255.0)  # a new array: ours to modify
        harmonized -= pixels
        harmonized *= weight[..., None]
        harmonized += pixels
        out[rows[0]:rows[1], col_start:col_stop] = np.rint(harmonized, out=harmonized)
    return out


def colour_transform_band(fit: ColourTransformFit, full_hw: tuple[int, int]) -> BandFunction:
    """A :data:`BandFunction` that applies a fitted colour change at full resolution (float32).

    The global map is one ``cv2.transform`` (:func:`~toolkit.ops.affine_levels`); the local corrections are
    resampled for the band's window and applied with one einsum.
    """
    global_map = levels_matrix(fit.matrix[0], fit.offset[0])
    if fit.local_matrix is None:
        return lambda pixels, rows, cols: affine_levels(pixels, global_map)
    # channels: ΔA[c, i] at 3c + i, then Δb[c] (on 0–255 levels)
    local = torch.cat([fit.local_matrix[0].reshape(9, *fit.local_matrix.shape[-2:]),
                       255.0 * fit.local_offset[0]]).float().cpu().numpy()

    def harmonize_band(pixels: np.ndarray, rows: tuple[int, int], cols: tuple[int, int]) -> np.ndarray:
        maps = resample_window(local, full_hw, rows, cols)  # (h, w, 12): ΔA[c, i] at 3c + i, then Δb
        source = pixels.astype(np.float32)
        mixed = affine_levels(source, global_map)
        mixed += maps[..., 9:]
        mixed += np.einsum('hwci,hwi->hwc', maps[..., :9].reshape(*maps.shape[:2], 3, 3), source)
        return mixed

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
    image = full_input.double()
    if fit.local_matrix is None:
        mapped = torch.einsum('bci,bihw->bchw', fit.matrix, image) + fit.offset[..., None, None]
    else:
        A, b = fit.dense()
        size = tuple(full_input.shape[-2:])
        A = F.interpolate(A.flatten(1, 2), size=size, mode='bilinear', align_corners=False).view(1, 3, 3, *size)
        mapped = apply_local_affine(image, A, F.interpolate(b, size=size, mode='bilinear', align_corners=False))
    return mapped.clamp(0, 1).float()
