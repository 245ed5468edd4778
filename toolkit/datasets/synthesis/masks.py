"""Masks for synthetic composites: the photo's own object masks, or generated ones (GrabCut seeded with a random
rectangle, or a union of random ellipses; both smoothed, area 5–60 %), and how much a perturbation changed a region.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np


def _smooth(mask: np.ndarray, size_hw, radius: int) -> np.ndarray:
    """Resize a binary mask to ``size_hw`` and round its outline (blur, threshold at 0.5)."""
    mask = cv2.resize(mask.astype(np.float32), (size_hw[1], size_hw[0]), interpolation=cv2.INTER_LINEAR)
    kernel = 2 * radius + 1
    return (cv2.GaussianBlur(mask, (kernel, kernel), 0) > 0.5).astype(np.uint8)


def _largest_component(mask: np.ndarray) -> np.ndarray:
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask.astype(np.uint8), connectivity=8)
    if count <= 1:
        return mask.astype(np.uint8)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return (labels == largest).astype(np.uint8)


def _grabcut_mask(image: np.ndarray, rng: np.random.Generator, area_range) -> Optional[np.ndarray]:
    height, width = image.shape[:2]
    scale = 256.0 / max(height, width)
    small = cv2.resize(image, (max(8, round(width * scale)), max(8, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    sh, sw = small.shape[:2]
    area = rng.uniform(max(area_range[0] * 1.5, 0.1), min(area_range[1] * 1.3, 0.8))
    aspect = np.exp(rng.uniform(np.log(0.6), np.log(1.6)))
    box_w = int(np.clip(np.sqrt(area * sh * sw * aspect), 8, sw - 4))
    box_h = int(np.clip(np.sqrt(area * sh * sw / aspect), 8, sh - 4))
    left, top = int(rng.integers(1, sw - box_w - 1)), int(rng.integers(1, sh - box_h - 1))
    labels = np.zeros((sh, sw), np.uint8)
    cv2.setRNGSeed(int(rng.integers(0, 2 ** 31 - 1)))  # GrabCut's GMM initialisation draws from OpenCV's RNG
    try:
        cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), labels, (left, top, box_w, box_h),
                    np.zeros((1, 65)), np.zeros((1, 65)), 3, cv2.GC_INIT_WITH_RECT)
    except cv2.error:
        return None
    foreground = _largest_component((labels == cv2.GC_FGD) | (labels == cv2.GC_PR_FGD))
    return _smooth(foreground, (height, width), radius=max(1, round(max(height, width) / 150)))


def _blob_mask(image: np.ndarray, rng: np.random.Generator, area_range) -> np.ndarray:
    height, width = image.shape[:2]
    canvas = np.zeros((height, width), np.uint8)
    target = rng.uniform(*area_range)
    center = np.array([rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height])
    for _ in range(int(rng.integers(1, 4))):
        axes = np.sqrt(target * height * width / np.pi) * rng.uniform(0.6, 1.2, size=2)
        offset = rng.normal(0, 0.1, size=2) * [width, height]
        cv2.ellipse(canvas, tuple(int(v) for v in center + offset), tuple(max(2, int(v)) for v in axes),
                    float(rng.uniform(0, 180)), 0, 360, 1, thickness=-1)
    return _smooth(canvas, (height, width), radius=max(2, round(max(height, width) / 60)))


def generate_mask(image: np.ndarray, rng: np.random.Generator, method: str = 'grabcut',
                  area_range: Sequence[float] = (0.05, 0.6), max_tries: int = 8) -> tuple[np.ndarray, str]:
    """A plausible object mask ``(H, W)`` uint8 {0, 1} whose area fraction is in ``area_range``.

    Returns:
        ``(mask, source)`` where ``source`` is ``'grabcut'`` or ``'blobs'`` (GrabCut falls back to blobs
        when no attempt lands in the area range).
    """
    if method not in ('grabcut', 'blobs'):
        raise ValueError(f"mask method must be 'grabcut' or 'blobs'; got {method!r}")
    low, high = area_range
    if method == 'grabcut':
        for _ in range(max_tries):
            mask = _grabcut_mask(image, rng, area_range)
            if mask is not None and low <= mask.mean() <= high:
                return mask, 'grabcut'
    for _ in range(4 * max_tries):
        mask = _blob_mask(image, rng, area_range)
        if low <= mask.mean() <= high:
            return mask, 'blobs'
    raise RuntimeError(f'could not draw a mask with area in {area_range}')


# ---------------------------------------------------------------------------------------- perturbations
def visible_change(original: np.ndarray, perturbed: np.ndarray, mask: np.ndarray) -> float:
    """Mean absolute difference (0–255) over the foreground."""
    foreground = mask.astype(bool)
    return float(np.abs(original[foreground].astype(np.float64) - perturbed[foreground].astype(np.float64)).mean())
