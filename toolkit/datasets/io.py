"""Reading composites, masks and real images with errors that name the file.

Handles what real harmonization data contains: RGBA PNGs (opaque alpha is
dropped; transparency is refused, or flattened onto white on request), 16-bit PNGs
(scaled to 8 bit), grayscale images (replicated to RGB), EXIF orientation of JPEGs,
and masks that are 1- or 3-channel, {0, 255}, {0, 1} or soft.

**Mask values** (one rule for datasets, the API and the CLI): a mask stored with
integers (8 or 16 bit) whose largest value is 1 is a ``{0, 1}`` label mask (1 =
foreground); any other integer mask is scaled by its type's range (255 or 65535),
so ``{0, 255}`` and soft masks read as expected; float masks are taken as [0, 1].

**Mask size** (one rule): a mask or real image whose size differs from the
composite's but whose aspect ratio is the same (within 1 %) is resized to the
composite (:func:`match_size`); any other mismatch is an error naming both files.
"""
from __future__ import annotations

import os
import os.path as osp
import sys
from contextlib import contextmanager

import cv2
import numpy as np

_EXIF_ORIENTATION_TAG = 0x0112
#: file extensions read as images when listing folders (lower case)
IMAGE_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


class HarmonizationDataError(ValueError):
    """Bad input data; the message names the file and the problem."""


@contextmanager
def native_stderr_silenced():
    """Silence what C libraries print to the process's stderr (file descriptor 2) while decoding.

    libpng and libjpeg report a damaged file on stderr themselves (``libpng error: PNG input buffer is
    incomplete``) before OpenCV returns ``None``; the caller then raises one error naming the file, so their
    lines would only break the one-line rule. Python's own ``sys.stderr`` is flushed first and restored after.
    """
    try:
        saved = os.dup(2)
    except OSError:  # no stderr to silence (a daemon)
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        sys.stderr.flush()
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _read_raw(path: str) -> np.ndarray:
    if not osp.isfile(path):
        raise HarmonizationDataError(f'{path}: file does not exist')
    try:
        buffer = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise HarmonizationDataError(f'{path}: cannot read the file ({error.strerror or error})') from None
    with native_stderr_silenced():
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


#: ``alpha=`` policies of :func:`read_image` for RGBA images with transparent pixels
ALPHA_POLICIES = ('refuse', 'flatten')
#: what ``alpha='flatten'`` composites a transparent pixel onto (RGB): white, as viewers show a page
FLATTEN_BACKGROUND = 255
#: a size mismatch is resized when the aspect ratios differ by at most this fraction
ASPECT_TOLERANCE = 0.01


def _to_uint8(image: np.ndarray, path: str) -> np.ndarray:
    if image.dtype == np.uint8:
        return image
    if image.dtype == np.uint16:
        return np.round(image.astype(np.float32) / 257.0).astype(np.uint8)
    if image.dtype in (np.float32, np.float64):
        return np.clip(np.round(image * 255.0), 0, 255).astype(np.uint8)
    raise HarmonizationDataError(f'{path}: unsupported pixel type {image.dtype}')


def flatten_alpha(rgba: np.ndarray, background: int = FLATTEN_BACKGROUND) -> np.ndarray:
    """``(H, W, 4)`` uint8 (any channel order, alpha last) → ``(H, W, 3)`` composited over ``background``.

    Example:
        >>> flatten_alpha(np.array([[[200, 100, 0, 255], [200, 100, 0, 0], [0, 0, 0, 128]]], np.uint8)).tolist()
        [[[200, 100, 0], [255, 255, 255], [127, 127, 127]]]
    """
    alpha = rgba[..., 3:].astype(np.float32) / 255.0
    flat = rgba[..., :3].astype(np.float32) * alpha + float(background) * (1.0 - alpha)
    return np.clip(np.round(flat), 0, 255).astype(np.uint8)


def drop_alpha(image: np.ndarray, label: str, alpha: str = 'refuse') -> np.ndarray:
    """Apply the ``alpha`` policy to a 4-channel image: opaque → drop it; transparent → refuse or flatten."""
    if alpha not in ALPHA_POLICIES:
        raise ValueError(f'alpha must be one of {ALPHA_POLICIES}; got {alpha!r}')
    transparent = int(np.count_nonzero(image[..., 3] < 255))
    if not transparent:
        return image[..., :3]
    if alpha == 'refuse':
        share = 100.0 * transparent / image[..., 3].size
        raise HarmonizationDataError(
            f'{label}: RGBA image with {transparent} transparent pixels ({share:.2g} %, lowest alpha '
            f'{int(image[..., 3].min())}); flatten it first, or use --alpha flatten (onto white)')
    return flatten_alpha(image)


def read_image(path: str, alpha: str = 'refuse') -> np.ndarray:
    """Read an image as ``(H, W, 3)`` uint8 RGB.

    Args:
        alpha: an RGBA image with transparent pixels is refused (``'refuse'``: a composite must be
            opaque) or composited onto white (``'flatten'``). Opaque alpha is always dropped.

    Raises:
        HarmonizationDataError: missing/unreadable file, or transparency with ``alpha='refuse'``.
    """
    image = _to_uint8(_read_raw(path), path)
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=2)
    channels = image.shape[2]
    if channels == 1:
        return np.repeat(image, 3, axis=2)
    if channels == 4:
        image = drop_alpha(image, path, alpha)
    elif channels != 3:
        raise HarmonizationDataError(f'{path}: expected 1, 3 or 4 channels, got {channels}')
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image if image.flags.c_contiguous else None)


def mask_scale(array: np.ndarray) -> float:
    """The value that means "fully foreground" for a mask array (see the module's mask rule).

    Example:
        >>> [mask_scale(np.array(values, np.uint8)) for values in ([0, 1], [0, 255], [0, 3])]
        [1.0, 255.0, 255.0]
        >>> mask_scale(np.array([0.0, 0.5])), mask_scale(np.array([0.0, 200.0]))   # floats: [0, 1] or 0–255
        (1.0, 255.0)
    """
    if array.dtype.kind in 'iu':
        if array.size and int(array.max()) == 1:
            return 1.0
        return 65535.0 if array.dtype == np.uint16 else 255.0
    if array.dtype.kind == 'f' and array.size and float(array.max()) > 1.0:
        return 255.0  # floats on 0–255
    return 1.0  # bool and float masks in [0, 1]


def _single_channel(raw: np.ndarray, path: str) -> np.ndarray:
    """Grayscale view of a mask: 3-channel masks must agree up to JPEG noise (their mean is used)."""
    if raw.ndim == 2:
        return raw
    channels = raw[..., :3] if raw.shape[2] >= 3 else raw[..., :1]
    if channels.shape[2] == 1:
        return channels[..., 0]
    scale = mask_scale(channels)
    spread = 0.0
    for start in range(0, channels.shape[0], 512):  # in bands: no full-size float copies
        block = channels[start:start + 512].astype(np.float32)
        spread = max(spread, float((block.max(axis=2) - block.min(axis=2)).max()) / scale)
    if spread > 0.2:
        raise HarmonizationDataError(f'{path}: mask channels differ; a mask must be grayscale')
    mean = np.empty(channels.shape[:2], channels.dtype)
    integers = channels.dtype.kind in 'iu'
    for start in range(0, channels.shape[0], 512):
        block = channels[start:start + 512].astype(np.float32).mean(axis=2)
        mean[start:start + 512] = np.round(block) if integers else block
    return mean


def normalize_mask(raw: np.ndarray, label: str, dtype=np.float32) -> np.ndarray:
    """Any mask array → ``(H, W)`` in [0, 1] (float32) or on 0–255 (``dtype=np.uint8``): the one rule for files
    (:func:`read_mask`) and arrays (:func:`toolkit.apis.load_mask_input`).

    1-channel, or 3-channel whose channels agree up to JPEG noise (their mean is used; a 4th channel, alpha, is
    ignored); integer ``{0, 1}`` label masks, other integers scaled by their type's range, booleans, floats in
    [0, 1] or on 0–255 (:func:`mask_scale`).

    Raises:
        HarmonizationDataError: naming ``label``: not 2-D or 3-D, or channels that disagree.

    Example:
        >>> normalize_mask(np.array([[0, 1]], np.uint8), 'labels.png').tolist()   # {0, 1} label mask
        [[0.0, 1.0]]
        >>> normalize_mask(np.array([[0.0, 127.5]]), 'array', dtype=np.uint8).tolist()   # float on 0–255
        [[0, 128]]
    """
    raw = np.asarray(raw)
    if raw.ndim not in (2, 3):
        raise HarmonizationDataError(f'{label}: a mask must be (H, W) or (H, W, C); got {raw.shape}')
    gray = _single_channel(raw.astype(np.uint8) if raw.dtype == bool else raw, label)
    scale = mask_scale(gray)
    if dtype == np.uint8:
        if gray.dtype == np.uint8 and scale == 255.0:
            return gray
        return np.clip(np.round(gray.astype(np.float32) * (255.0 / scale)), 0, 255).astype(np.uint8)
    return np.clip(gray.astype(np.float32) / scale, 0.0, 1.0)


def read_mask(path: str, dtype=np.float32) -> np.ndarray:
    """Read a mask as ``(H, W)`` in [0, 1] float32 (1 = foreground), or with ``dtype=np.uint8`` on 0–255.

    3-channel masks (as iHarmony4 releases them) must have equal channels up to JPEG noise; their mean is used.
    An alpha channel is ignored. ``{0, 1}`` integer masks are label masks (see :func:`normalize_mask`).

    Raises:
        HarmonizationDataError: missing/unreadable file or channels that disagree.
    """
    return normalize_mask(_read_raw(path), path, dtype)
