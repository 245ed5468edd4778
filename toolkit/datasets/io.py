"""Reading composites, masks and real images with errors that name the file.

Handles what real harmonization data contains: RGBA PNGs (opaque alpha is
dropped; transparency is refused), 16-bit PNGs (scaled to 8 bit), grayscale
images (replicated to RGB), EXIF orientation of JPEGs, and masks that are 1- or
3-channel, {0, 255} or soft.
"""
from __future__ import annotations

import os.path as osp

import cv2
import numpy as np

_EXIF_ORIENTATION_TAG = 0x0112


class HarmonizationDataError(ValueError):
    """Bad input data; the message names the file and the problem."""


def _read_raw(path: str) -> np.ndarray:
    if not osp.isfile(path):
        raise HarmonizationDataError(f'{path}: file does not exist')
    buffer = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED) if buffer.size else None
    if image is None:
        raise HarmonizationDataError(f'{path}: cannot decode image (unreadable or not an image file)')
    return _apply_exif_orientation(image, path)


def _apply_exif_orientation(image: np.ndarray, path: str) -> np.ndarray:
    """IMREAD_UNCHANGED ignores EXIF; apply the orientation tag as viewers do."""
    if not path.lower().endswith(('.jpg', '.jpeg', '.tif', '.tiff', '.webp')):
        return image
    try:
        from PIL import Image
        with Image.open(path) as pil_image:
            orientation = pil_image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except Exception:
        return image
    transforms = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: np.swapaxes(a, 0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a, 1)[::-1],
        8: lambda a: np.rot90(a, 1),
    }
    if orientation in transforms:
        image = np.ascontiguousarray(transforms[orientation](image))
    return image


def _to_uint8(image: np.ndarray, path: str) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.round(image.astype(np.float32) / 257.0).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    raise HarmonizationDataError(f'{path}: unsupported pixel type {image.dtype}')


def read_image(path: str) -> np.ndarray:
    """Read an image as ``(H, W, 3)`` uint8 RGB.

    Raises:
        HarmonizationDataError: missing/unreadable file, or an RGBA image with transparency
            (a composite must be opaque).
    """
    image = _to_uint8(_read_raw(path), path)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    channels = image.shape[2]
    if channels == 1:
        return np.repeat(image, 3, axis=2)
    if channels == 4:
        if image[..., 3].min() < 255:
            raise HarmonizationDataError(
                f'{path}: RGBA image with transparent pixels; flatten it onto a background first')
        image = image[..., :3]
    elif channels != 3:
        raise HarmonizationDataError(f'{path}: expected 1, 3 or 4 channels, got {channels}')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def read_mask(path: str) -> np.ndarray:
    """Read a mask as ``(H, W)`` float32 in [0, 1] (1 = foreground).

    3-channel masks (as iHarmony4 releases them) must have equal channels up to
    JPEG noise; their mean is used. An alpha channel is ignored.

    Raises:
        HarmonizationDataError: missing/unreadable file or channels that disagree.
    """
    raw = _read_raw(path)
    scale = 65535.0 if raw.dtype == np.uint16 else 255.0 if raw.dtype == np.uint8 else 1.0
    mask = raw.astype(np.float32) / scale
    if mask.ndim == 3:
        mask = mask[..., :3] if mask.shape[2] >= 3 else mask[..., :1]
        if mask.shape[2] > 1 and float(np.abs(mask - mask.mean(axis=2, keepdims=True)).max()) > 0.1:
            raise HarmonizationDataError(f'{path}: mask channels differ; a mask must be grayscale')
        mask = mask.mean(axis=2)
    return np.clip(mask, 0.0, 1.0)
