"""Least-squares colour maps between two images (the global part of full-resolution transfer, colour priors)."""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

#: default ridge, relative to the mean colour variance under the weights (plus a floor in [0, 1]² units): a global
#: affine change comes back to 1e-4 of its size, and a grey or flat region (a singular colour covariance) cannot
#: turn noise into a huge matrix
RELATIVE_RIDGE, RIDGE_FLOOR = 1e-4, 1e-8


def channel_outer(a: Tensor, b: Tensor) -> Tensor:
    """``(B, 3, ...)`` × ``(B, 3, ...)`` → ``(B, 3, 3, ...)`` with ``[:, i, j] = a_i·b_j``."""
    return a[:, :, None] * b[:, None, :]


def fit_global_affine(source: Tensor, target: Tensor, weights: Tensor, relative_ridge: float = RELATIVE_RIDGE,
                      ridge_floor: float = RIDGE_FLOOR) -> tuple[Tensor, Tensor]:
    """Weighted least squares ``target ≈ M·source + c`` per image, ``M`` regularised towards the identity.

    Args:
        source, target: ``(B, 3, h, w)``; weights: ``(B, 1, h, w)`` ≥ 0.

    Returns:
        ``M (B, 3, 3)`` and ``c (B, 3)``; an image whose weights are all zero gets the identity.

    Example:
        >>> x = torch.rand(1, 3, 8, 8, dtype=torch.float64)
        >>> M, c = fit_global_affine(x, 0.5 * x + 0.2, torch.ones(1, 1, 8, 8, dtype=torch.float64))
        >>> expected_M = 0.5 * torch.eye(3, dtype=torch.float64)
        >>> expected_c = torch.tensor([[0.2] * 3], dtype=torch.float64)
        >>> torch.allclose(M, expected_M, atol=1e-4), torch.allclose(c, expected_c, atol=1e-4)
        (True, True)
    """
    total = weights.sum((2, 3))  # (B, 1)
    safe = total.clamp_min(1e-12)
    change = target - source
    mean_s = (weights * source).sum((2, 3)) / safe
    mean_d = (weights * change).sum((2, 3)) / safe
    centred_s = source - mean_s[..., None, None]
    centred_d = change - mean_d[..., None, None]
    cov_ss = (weights[:, None] * channel_outer(centred_s, centred_s)).sum((3, 4)) / safe[..., None]
    cov_ds = (weights[:, None] * channel_outer(centred_d, centred_s)).sum((3, 4)) / safe[..., None]
    eye = torch.eye(3, dtype=source.dtype, device=source.device)
    ridge = relative_ridge * cov_ss.diagonal(dim1=1, dim2=2).mean(1) + ridge_floor  # (B,)
    # Δ·(cov_ss + λI) = cov_ds  ⇔  (cov_ss + λI)·Δᵀ = cov_dsᵀ (cov_ss is symmetric)
    delta = torch.linalg.solve(cov_ss + ridge[:, None, None] * eye, cov_ds.transpose(1, 2)).transpose(1, 2)
    offset = mean_d - (delta @ mean_s[..., None])[..., 0]
    empty = (total[:, 0] <= 0)[:, None]
    delta = torch.where(empty[..., None], torch.zeros_like(delta), delta)
    offset = torch.where(empty, torch.zeros_like(offset), offset)
    return eye + delta, offset


def levels_matrix(matrix, offset) -> np.ndarray:
    """A colour map ``M·x + c`` on [0, 1] (``M (3, 3)``, ``c (3,)``, tensors or arrays) as the ``(3, 4)`` float32
    map on 0–255 levels ``[M | 255·c]`` that :func:`affine_levels` applies.

    Example:
        >>> levels_matrix(torch.eye(3), torch.tensor([0.1, 0.0, -0.2]))[:, 3].round(3).tolist()
        [25.5, 0.0, -51.0]
    """
    matrix = matrix.detach().cpu().double().numpy() if isinstance(matrix, Tensor) else np.asarray(matrix, np.float64)
    offset = offset.detach().cpu().double().numpy() if isinstance(offset, Tensor) else np.asarray(offset, np.float64)
    return np.concatenate([matrix, 255.0 * offset[:, None]], 1).astype(np.float32)


def affine_levels(pixels: np.ndarray, matrix_3x4: np.ndarray) -> np.ndarray:
    """``M·x + c`` per pixel of ``(h, w, 3)`` pixels on 0–255 with ``matrix_3x4 = [M | c]``
    (:func:`levels_matrix`): ``(h, w, 3)`` float32, unclipped; one OpenCV pass (``cv2.transform``).

    Example:
        >>> pixels = np.array([[[10, 20, 30]]], np.uint8)
        >>> affine_levels(pixels, levels_matrix(2 * np.eye(3), [0.0, 0.0, 1.0])).tolist()
        [[[20.0, 40.0, 315.0]]]
    """
    import cv2
    return cv2.transform(np.asarray(pixels, dtype=np.float32), matrix_3x4)
