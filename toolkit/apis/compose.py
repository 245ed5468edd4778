"""Making a composite: a cut-out (an RGBA image whose alpha is the object) placed on a background photo.

This is how most composites that need harmonizing are made — paste an object, then fix its colours — and the
harmonizers need the composite *and* its mask. :func:`paste_cutout` returns both, so a user (``harmony compose``,
the local page) never opens an image editor to paint the mask.

Placement: the cut-out is scaled by ``scale`` and its top-left corner put at pixel ``(x, y)`` of the background
(either may be negative, or put part of the object outside: that part is cut off). The scaled cut-out is
resampled **premultiplied** (colour × alpha, and alpha), so semi-transparent edges take no colour from the
invisible pixels around them, and composited as ``composite = premultiplied + background·(1 − α)``; the mask is
``α`` on 0–255 (soft edges stay soft; the harmonizers take ``mask > 127`` as the foreground).
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from toolkit.datasets.io import HarmonizationDataError


def cutout_alpha(cutout: np.ndarray, label: str = 'cut-out') -> np.ndarray:
    """The alpha channel of a ``(h, w, 4)`` uint8 cut-out, refusing images without one or with nothing visible."""
    if cutout.ndim != 3 or cutout.shape[2] != 4:
        channels = 1 if cutout.ndim == 2 else cutout.shape[2]
        raise HarmonizationDataError(f'{label}: a cut-out needs an alpha channel (a PNG with transparency); got '
                                     f'{channels} channel{"s" if channels != 1 else ""}')
    alpha = cutout[..., 3]
    if not (alpha > 127).any():
        raise HarmonizationDataError(f'{label}: the cut-out is transparent everywhere (no pixel with alpha above '
                                     '127): there is no object to place')
    return alpha


def centred_position(cutout_hw: tuple[int, int], background_hw: tuple[int, int], scale: float) -> tuple[int, int]:
    """``(x, y)`` that centres a cut-out of ``cutout_hw`` scaled by ``scale`` on a background of ``background_hw``.

    Example:
        >>> centred_position((100, 50), (400, 600), 2.0)
        (250, 100)
    """
    height, width = (max(1, round(side * scale)) for side in cutout_hw)
    return (background_hw[1] - width) // 2, (background_hw[0] - height) // 2


def paste_cutout(cutout: np.ndarray, background: np.ndarray, x: Optional[int] = None, y: Optional[int] = None,
                 scale: float = 1.0, label: str = 'cut-out') -> tuple[np.ndarray, np.ndarray]:
    """Place an RGBA cut-out on an RGB background: ``(composite (H, W, 3) uint8, mask (H, W) uint8)``.

    Args:
        cutout: ``(h, w, 4)`` uint8 RGBA (alpha = the object).
        background: ``(H, W, 3)`` uint8 RGB; the composite has its size.
        x, y: where the scaled cut-out's top-left corner goes (background pixels); ``None`` centres it.
        scale: size factor of the cut-out (``> 0``).

    Raises:
        HarmonizationDataError: no alpha or nothing visible, a bad scale, or an object entirely outside.

    Example:
        >>> cutout = np.zeros((2, 2, 4), np.uint8); cutout[..., 0] = 200; cutout[0, :, 3] = 255
        >>> composite, mask = paste_cutout(cutout, np.full((4, 4, 3), 10, np.uint8), x=1, y=1)
        >>> mask.tolist()
        [[0, 0, 0, 0], [0, 255, 255, 0], [0, 0, 0, 0], [0, 0, 0, 0]]
        >>> composite[1, 1].tolist(), composite[2, 1].tolist()
        ([200, 0, 0], [10, 10, 10])
    """
    alpha = cutout_alpha(cutout, label)
    if not (scale > 0 and np.isfinite(scale)):
        raise HarmonizationDataError(f'{label}: scale must be a positive number; got {scale}')
    height, width = background.shape[:2]
    scaled_hw = tuple(max(1, round(side * scale)) for side in cutout.shape[:2])
    if x is None or y is None:
        centre_x, centre_y = centred_position(cutout.shape[:2], (height, width), scale)
        x = centre_x if x is None else x
        y = centre_y if y is None else y
    x, y = int(round(x)), int(round(y))
    premultiplied = np.concatenate([cutout[..., :3].astype(np.float32) * (alpha[..., None] / np.float32(255.0)),
                                    alpha[..., None].astype(np.float32)], axis=2)
    if scaled_hw != cutout.shape[:2]:
        interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        premultiplied = cv2.resize(premultiplied, (scaled_hw[1], scaled_hw[0]), interpolation=interpolation)
    top, left = max(0, y), max(0, x)
    bottom, right = min(height, y + scaled_hw[0]), min(width, x + scaled_hw[1])
    if top >= bottom or left >= right:
        raise HarmonizationDataError(f'{label}: placed at x={x}, y={y} (scaled to {scaled_hw[1]}×{scaled_hw[0]}) the '
                                     f'cut-out lies outside the {width}×{height} background')
    window = premultiplied[top - y:bottom - y, left - x:right - x]
    coverage = np.clip(window[..., 3:] / np.float32(255.0), 0.0, 1.0)
    composite = background.copy()
    region = composite[top:bottom, left:right].astype(np.float32)
    composite[top:bottom, left:right] = np.clip(np.rint(window[..., :3] + region * (1.0 - coverage)), 0, 255)
    mask = np.zeros((height, width), np.uint8)
    mask[top:bottom, left:right] = np.clip(np.rint(window[..., 3]), 0, 255)
    return composite, mask


def read_cutout(path: str) -> np.ndarray:
    """Read a cut-out file as ``(h, w, 4)`` uint8 RGBA (8- or 16-bit PNG/WebP/TIFF with alpha).

    Raises:
        HarmonizationDataError: unreadable file, or no alpha channel / nothing visible (naming the file).
    """
    from toolkit.datasets.io import _read_raw, _to_uint8
    raw = _to_uint8(_read_raw(path), path)
    if raw.ndim == 3 and raw.shape[2] == 4:
        raw = cv2.cvtColor(raw, cv2.COLOR_BGRA2RGBA)
    cutout_alpha(raw, path)
    return raw
