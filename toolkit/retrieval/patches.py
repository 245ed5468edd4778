"""Per-patch descriptors on a ``grid × grid`` partition of an image: HSV histograms and masked feature pooling.

Both the content features (pooled from the encoder's token map) and the HSV histograms live on the same
cells, so a (query cell, gallery cell) pair has one content and one appearance similarity (Raiha eq. 5).
Every descriptor is L2-normalised, so a dot product is the cosine similarity ⟨·,·⟩ of the paper.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

#: OpenCV 8-bit HSV ranges: hue 0–179, saturation and value 0–255.
_HSV_RANGES = (180, 256, 256)


def cell_fractions(mask: np.ndarray, grid: int) -> np.ndarray:
    """Mean of an ``(H, W)`` mask in [0, 1] over each cell → ``(grid * grid,)`` row-major.

    Example:
        >>> mask = np.zeros((4, 4)); mask[:2, :2] = 1
        >>> cell_fractions(mask, 2).tolist()
        [1.0, 0.0, 0.0, 0.0]
    """
    tensor = torch.as_tensor(np.asarray(mask, dtype=np.float32))[None, None]
    return F.adaptive_avg_pool2d(tensor, grid).flatten().numpy()


def hsv_patch_histograms(image: np.ndarray, grid: int, bins: Sequence[int] = (8, 4, 4),
                         weights: Optional[np.ndarray] = None, cell_pixels: int = 32) -> np.ndarray:
    """Joint HSV histogram of each cell, L2-normalised → ``(grid * grid, prod(bins))`` float32.

    Args:
        image: ``(H, W, 3)`` uint8 RGB. It is resized (area) to ``grid * cell_pixels`` square first, so the
            descriptor does not depend on the image size.
        grid: cells per side.
        bins: bins of hue, saturation and value (uniform over OpenCV's 8-bit ranges).
        weights: optional ``(H, W)`` pixel weights in [0, 1] (the background ``1 − mask`` of a composite);
            a cell with no weight gets an all-zero histogram (it can match nothing).

    Example:
        >>> red = np.zeros((8, 8, 3), np.uint8); red[..., 0] = 255
        >>> hist = hsv_patch_histograms(red, grid=2, bins=(4, 2, 2), cell_pixels=4)
        >>> hist.shape, float(hist[0].max())
        ((4, 16), 1.0)
    """
    if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
        raise ValueError(f'image must be (H, W, 3) uint8 RGB; got {image.shape} {image.dtype}')
    side = grid * cell_pixels
    small = cv2.resize(image, (side, side), interpolation=cv2.INTER_AREA)
    hsv = cv2.cvtColor(small, cv2.COLOR_RGB2HSV).reshape(-1, 3).astype(np.int64)
    index = np.zeros(hsv.shape[0], dtype=np.int64)
    for channel, (count, value_range) in enumerate(zip(bins, _HSV_RANGES)):
        index = index * count + np.minimum(hsv[:, channel] * count // value_range, count - 1)
    rows, cols = np.divmod(np.arange(side * side), side)
    cell = (rows // cell_pixels) * grid + cols // cell_pixels
    num_bins = int(np.prod(bins))
    if weights is None:
        pixel_weight = None
    else:
        if weights.shape[:2] != image.shape[:2]:
            raise ValueError(f'weights {weights.shape} must match the image {image.shape[:2]}')
        pixel_weight = cv2.resize(weights.astype(np.float32), (side, side), interpolation=cv2.INTER_AREA).reshape(-1)
    hist = np.bincount(cell * num_bins + index, weights=pixel_weight, minlength=grid * grid * num_bins)
    hist = hist.reshape(grid * grid, num_bins).astype(np.float32)
    norm = np.linalg.norm(hist, axis=1, keepdims=True)
    return np.divide(hist, norm, out=np.zeros_like(hist), where=norm > 0)


def pool_patch_features(features: Tensor, grid: int, weights: Optional[Tensor] = None) -> tuple[Tensor, Tensor]:
    """Average a ``(D, h, w)`` token map over each of ``grid × grid`` cells, optionally weighted; L2-normalise.

    Args:
        features: ``(D, h, w)`` content features (``h, w`` divisible by ``grid``, or adaptive pooling is used).
        weights: optional ``(H, W)`` pixel weights in [0, 1] (foreground or background of a composite),
            resized (area) to the token map, so a cell's descriptor pools only the tokens of that region.

    Returns:
        ``(grid * grid, D)`` unit vectors and ``(grid * grid,)`` the region's share of each cell (1 when
        unweighted). Cells with no weight get a zero vector.

    Example:
        >>> feats = torch.zeros(2, 4, 4); feats[0, :, :2] = 1; feats[1, :, 2:] = 1
        >>> vectors, share = pool_patch_features(feats, grid=1)
        >>> [round(v, 4) for v in vectors[0].tolist()], share.tolist()
        ([0.7071, 0.7071], [1.0])
    """
    if features.ndim != 3:
        raise ValueError(f'features must be (D, h, w); got {tuple(features.shape)}')
    features = features.float()
    if weights is None:
        pooled = F.adaptive_avg_pool2d(features[None], grid)[0]
        share = torch.ones(grid * grid)
    else:
        token_weight = F.interpolate(torch.as_tensor(weights, dtype=torch.float32)[None, None],
                                     size=features.shape[-2:], mode='area')[0]
        weighted = F.adaptive_avg_pool2d((features * token_weight)[None], grid)[0]
        share = F.adaptive_avg_pool2d(token_weight[None], grid)[0, 0]
        pooled = weighted / share.clamp_min(1e-6)
        share = share.flatten()
    vectors = F.normalize(pooled.flatten(1).T, dim=1)
    return vectors * (share > 0).float()[:, None], share
