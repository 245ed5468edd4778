"""Bringing a low-resolution harmonization back to full resolution without losing detail.

Harmonization networks run at 256×256. Upsampling their output bilinearly blurs every foreground
texture. Instead we transfer the *colour change*: at low resolution, fit for every pixel a local
affine colour transform ``out = A·in + b`` (A 3×3, b 3) between the network's input and output over a
small window (a guided-filter-style ridge regression, as in bilateral-guided upsampling), smooth the
coefficients, upsample them to full resolution and apply them to the full-resolution composite. The
detail comes from the full-resolution pixels; only the smooth colour mapping comes from the network.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor


def _box(x: Tensor, radius: int) -> Tensor:
    return F.avg_pool2d(x, 2 * radius + 1, stride=1, padding=radius, count_include_pad=False)


def fit_local_affine(source: Tensor, target: Tensor, radius: int = 2, eps: float = 1e-3) -> tuple[Tensor, Tensor]:
    """Per-pixel affine colour maps from ``source`` to ``target``.

    Args:
        source, target: ``(B, 3, h, w)`` in [0, 1] (the network's input and output at its resolution).
        radius: window radius of the local fit.
        eps: ridge regulariser (in [0, 1]² colour units): larger = closer to a per-window offset.

    Returns:
        ``A (B, 3, 3, h, w)`` (``A[:, c, i]`` weighs input channel i for output channel c) and
        ``b (B, 3, h, w)``, both box-smoothed, so that ``target ≈ Σ_i A[:, :, i]·source_i + b``.

    Example:
        >>> src = torch.rand(1, 3, 16, 16)
        >>> A, b = fit_local_affine(src, 0.5 * src + 0.1, eps=1e-6)
        >>> torch.allclose(apply_local_affine(src, A, b).float(), 0.5 * src + 0.1, atol=1e-3)
        True
    """
    batch, _, height, width = source.shape
    source, target = source.double(), target.double()
    mean_s, mean_t = _box(source, radius), _box(target, radius)
    products = torch.stack([source[:, i] * source[:, j] for i in range(3) for j in range(3)], 1)
    cov_ss = (_box(products, radius) - torch.stack([mean_s[:, i] * mean_s[:, j] for i in range(3)
                                                     for j in range(3)], 1)).view(batch, 3, 3, height, width)
    cross = torch.stack([target[:, c] * source[:, i] for c in range(3) for i in range(3)], 1)
    cov_ts = (_box(cross, radius) - torch.stack([mean_t[:, c] * mean_s[:, i] for c in range(3)
                                                  for i in range(3)], 1)).view(batch, 3, 3, height, width)
    system = cov_ss.permute(0, 3, 4, 1, 2) + eps * torch.eye(3, dtype=source.dtype, device=source.device)
    rhs = cov_ts.permute(0, 3, 4, 2, 1)  # (B, h, w, i, c)
    solution = torch.linalg.solve(system, rhs)  # (B, h, w, i, c)
    A = solution.permute(0, 4, 3, 1, 2)  # (B, c, i, h, w)
    b = mean_t - (A * mean_s[:, None]).sum(2)
    A = _box(A.reshape(batch, 9, height, width), radius).view(batch, 3, 3, height, width)
    return A, _box(b, radius)


def apply_local_affine(image: Tensor, A: Tensor, b: Tensor) -> Tensor:
    """``out_c = Σ_i A[c, i]·image_i + b_c`` per pixel; ``A``/``b`` must have the image's size."""
    return (A * image.to(A.dtype)[:, None]).sum(2) + b


def upsample_colour_transform(low_input: Tensor, low_output: Tensor, full_input: Tensor, radius: int = 2,
                              eps: float = 1e-3) -> Tensor:
    """Apply the low-resolution colour change to the full-resolution image.

    Args:
        low_input, low_output: ``(B, 3, h, w)`` in [0, 1].
        full_input: ``(B, 3, H, W)`` in [0, 1].

    Returns:
        ``(B, 3, H, W)`` in [0, 1] (float64).
    """
    A, b = fit_local_affine(low_input, low_output, radius, eps)
    size = full_input.shape[-2:]
    batch, height, width = A.shape[0], A.shape[-2], A.shape[-1]
    A = F.interpolate(A.reshape(batch, 9, height, width), size=size, mode='bilinear',
                      align_corners=False).view(batch, 3, 3, *size)
    b = F.interpolate(b, size=size, mode='bilinear', align_corners=False)
    return apply_local_affine(full_input, A, b).clamp(0, 1)
