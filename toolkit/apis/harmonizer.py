"""``Harmonizer``: harmonize your own composites at any size with a zoo model or a config + checkpoint."""
from __future__ import annotations

import os
import os.path as osp
from pathlib import Path
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from toolkit.datasets.io import HarmonizationDataError, read_image, read_mask
from toolkit.datasets.transforms.processing import resize_image, resize_mask

from .full_res import upsample_colour_transform

ImageInput = Union[str, os.PathLike, np.ndarray, 'PIL.Image.Image']  # noqa: F821


def _from_pil(image):
    from PIL import ImageOps
    image = ImageOps.exif_transpose(image)
    if image.mode == 'RGBA':
        array = np.asarray(image)
        if array[..., 3].min() < 255:
            raise HarmonizationDataError('image: RGBA image with transparent pixels; flatten it onto a background first')
        return array[..., :3].copy()
    if image.mode in ('I;16', 'I;16B', 'I'):
        return np.asarray(image, dtype=np.float64)
    return np.asarray(image.convert('RGB') if image.mode not in ('L', '1') else image.convert('L'))


def load_image_input(image: ImageInput, name: str = 'image') -> np.ndarray:
    """A path, PIL image or array → ``(H, W, 3)`` uint8 RGB (16-bit scaled, gray replicated, opaque RGBA)."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(str(image))
    if hasattr(image, 'mode') and hasattr(image, 'size'):  # PIL
        image = _from_pil(image)
    array = np.asarray(image)
    if array.dtype == np.uint16 or (array.dtype.kind in 'iu' and array.max(initial=0) > 255):
        array = np.round(array.astype(np.float64) / 257.0)
    elif array.dtype.kind == 'f':
        if array.max(initial=0) <= 1.0:
            array = array * 255.0
        array = np.round(array)
    elif array.dtype == bool:
        array = array.astype(np.uint8) * 255
    array = np.clip(array, 0, 255).astype(np.uint8)
    if array.ndim == 2:
        array = np.repeat(array[..., None], 3, axis=2)
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise HarmonizationDataError(f'{name}: expected (H, W), (H, W, 3) or (H, W, 4); got {array.shape}')
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    if array.shape[2] == 4:
        if array[..., 3].min() < 255:
            raise HarmonizationDataError(f'{name}: RGBA image with transparent pixels; flatten it first')
        array = array[..., :3]
    return np.ascontiguousarray(array)


def load_mask_input(mask: ImageInput, name: str = 'mask') -> np.ndarray:
    """A path, PIL image or array → ``(H, W)`` float32 in [0, 1] (1- or 3-channel, binary or soft)."""
    if isinstance(mask, (str, os.PathLike)):
        return read_mask(str(mask))
    if hasattr(mask, 'mode') and hasattr(mask, 'size'):
        mask = np.asarray(mask.convert('L'))
    array = np.asarray(mask)
    if array.dtype == bool:
        array = array.astype(np.float32)
    elif array.dtype == np.uint16:
        array = array.astype(np.float32) / 65535.0
    elif array.dtype.kind in 'iu':
        array = array.astype(np.float32) / 255.0
    else:
        array = array.astype(np.float32)
        if array.max(initial=0) > 1.0:
            array = array / 255.0
    if array.ndim == 3:
        array = array[..., :3].mean(axis=2) if array.shape[2] >= 3 else array[..., 0]
    if array.ndim != 2:
        raise HarmonizationDataError(f'{name}: a mask must be (H, W) or (H, W, C); got {array.shape}')
    return np.clip(array, 0.0, 1.0)


class Harmonizer:
    """Harmonize composites of any size with a model that runs at a fixed resolution.

    The network sees the composite and mask resized to ``resolution``. With ``full_res`` (default)
    the low-resolution colour change is carried to the full-resolution composite by a local affine
    colour transform (:mod:`toolkit.apis.full_res`); without it the output is upsampled bilinearly.
    Either way the result has the input's size and its background pixels are the input's, untouched:
    ``output = harmonized·m + composite·(1 − m)`` with the (soft) mask ``m``.

    Example:
        >>> harmonizer = Harmonizer.from_pretrained('reinhard-lab')
        >>> image = np.zeros((300, 500, 3), np.uint8); image[:, 250:] = (200, 120, 40)
        >>> mask = np.zeros((300, 500), np.uint8); mask[100:200, 300:400] = 255
        >>> out = harmonizer.harmonize(image, mask)
        >>> out.shape, out.dtype.name, bool((out[mask == 0] == image[mask == 0]).all())
        ((300, 500, 3), 'uint8', True)
    """

    def __init__(self, model, resolution: int = 256, device: Optional[str] = None, full_res: bool = True,
                 batch_size: int = 4, radius: int = 2, eps: float = 1e-3):
        self.device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        self.model = model.to(self.device).eval()
        self.resolution, self.full_res, self.batch_size = resolution, full_res, batch_size
        self.radius, self.eps = radius, eps

    @classmethod
    def from_pretrained(cls, name_or_config: str, checkpoint: Optional[str] = None, device: Optional[str] = None,
                        **kwargs) -> 'Harmonizer':
        """A zoo model by name (``harmony list``), a config file with an optional checkpoint, or
        ``'CONFIG.py:CHECKPOINT'`` in one string (as the CLI takes it)."""
        device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
        name_or_config = str(name_or_config)
        if '.py:' in name_or_config and checkpoint is None:
            config, _, checkpoint = name_or_config.partition('.py:')
            name_or_config = config + '.py'
        if name_or_config.endswith('.py'):
            from toolkit.hub import load_weights
            from toolkit.models import build_model_from_config
            model, _ = build_model_from_config(name_or_config)
            if checkpoint:
                load_weights(model, checkpoint)
        else:
            from toolkit.zoo import get_model
            model = get_model(name_or_config, pretrained=True, device=device)
        return cls(model, device=device, **kwargs)

    # ------------------------------------------------------------------------------------------------
    def _prepare(self, image: ImageInput, mask: ImageInput, index: int):
        label = str(image) if isinstance(image, (str, os.PathLike)) else f'image {index}'
        mask_label = str(mask) if isinstance(mask, (str, os.PathLike)) else f'mask {index}'
        composite = load_image_input(image, label)
        soft_mask = load_mask_input(mask, mask_label)
        if soft_mask.shape != composite.shape[:2]:
            raise HarmonizationDataError(
                f'{mask_label}: mask size {soft_mask.shape[1]}x{soft_mask.shape[0]} does not match {label} '
                f'({composite.shape[1]}x{composite.shape[0]})')
        if not np.any(soft_mask > 0.5):
            raise HarmonizationDataError(f'{mask_label}: mask is empty (no pixel above 128/255)')
        size = (self.resolution, self.resolution)
        low_composite = resize_image(composite, size)
        low_mask = resize_mask(soft_mask, size)
        binary = low_mask > 0.5
        if not binary.any():  # a tiny object: keep whatever survived the resize
            binary = low_mask >= low_mask.max() * 0.5
        return composite, soft_mask, low_composite, binary.astype(np.float32)

    @torch.no_grad()
    def _run_model(self, low_composites: list, low_masks: list) -> torch.Tensor:
        composite = torch.from_numpy(np.stack(low_composites).transpose(0, 3, 1, 2)).to(self.device)
        mask = torch.from_numpy(np.stack(low_masks)[:, None]).to(self.device)
        data = self.model.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask), data_samples=None))
        samples = self.model(**data, mode='predict')
        return torch.stack([sample.pred_img for sample in samples]).clamp(0, 255)

    def _finish(self, composite: np.ndarray, soft_mask: np.ndarray, low_composite: np.ndarray,
                prediction: torch.Tensor, full_res: bool) -> np.ndarray:
        height, width = composite.shape[:2]
        full = torch.from_numpy(composite.transpose(2, 0, 1))[None].to(self.device).double() / 255.0
        low_out = prediction[None].double() / 255.0
        if full_res:
            low_in = torch.from_numpy(low_composite.transpose(2, 0, 1))[None].to(self.device).double() / 255.0
            harmonized = upsample_colour_transform(low_in, low_out, full, self.radius, self.eps)
        else:
            harmonized = F.interpolate(low_out, size=(height, width), mode='bilinear', align_corners=False)
        harmonized = (harmonized[0].clamp(0, 1) * 255.0).cpu().numpy().transpose(1, 2, 0)
        weight = soft_mask[..., None].astype(np.float64)
        output = np.round(harmonized * weight + composite.astype(np.float64) * (1 - weight))
        output = np.clip(output, 0, 255).astype(np.uint8)
        output[soft_mask == 0] = composite[soft_mask == 0]  # exact, whatever the rounding
        return output

    def harmonize(self, image, mask, full_res: Optional[bool] = None):
        """Harmonize one composite, or lists of composites and masks (processed in batches).

        Args:
            image: path, PIL image or array (RGB/RGBA-opaque/gray, 8- or 16-bit); or a list of them.
            mask: the matching mask(s): path, PIL image or array, 1- or 3-channel, binary or soft.
            full_res: override the instance's ``full_res``.

        Returns:
            ``(H, W, 3)`` uint8 RGB at the input's size (a list for list inputs).

        Raises:
            HarmonizationDataError: unreadable input, mask/image size mismatch, empty mask.
        """
        full_res = self.full_res if full_res is None else full_res
        single = not isinstance(image, (list, tuple))
        images = [image] if single else list(image)
        masks = [mask] if single else list(mask)
        if len(images) != len(masks):
            raise ValueError(f'{len(images)} images but {len(masks)} masks')
        outputs = []
        for start in range(0, len(images), self.batch_size):
            prepared = [self._prepare(img, msk, start + offset)
                        for offset, (img, msk) in enumerate(zip(images[start:start + self.batch_size],
                                                                masks[start:start + self.batch_size]))]
            predictions = self._run_model([p[2] for p in prepared], [p[3] for p in prepared])
            outputs += [self._finish(p[0], p[1], p[2], pred, full_res) for p, pred in zip(prepared, predictions)]
        return outputs[0] if single else outputs


def save_image(path: Union[str, Path], image: np.ndarray) -> None:
    """Write an RGB uint8 image (format from the extension)."""
    import cv2
    os.makedirs(osp.dirname(osp.abspath(str(path))), exist_ok=True)
    if not cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR)):
        raise OSError(f'could not write {path}')


def pair_masks(image_paths: Sequence[str], mask_dir: str) -> list[tuple[str, str]]:
    """Match each image with ``<mask_dir>/<stem>.png`` or the iHarmony4 mask ``<real>_<fg>.png`` of ``<real>_<fg>_<k>``."""
    from toolkit.datasets.iharmony4 import parse_composite_name
    pairs = []
    for path in image_paths:
        stem = osp.splitext(osp.basename(path))[0]
        candidates = [osp.join(mask_dir, stem + '.png')]
        try:
            candidates.append(osp.join(mask_dir, parse_composite_name(path)[0] + '.png'))
        except HarmonizationDataError:
            pass
        found = next((candidate for candidate in candidates if osp.isfile(candidate)), None)
        if found is None:
            raise HarmonizationDataError(f'{path}: no mask in {mask_dir} (looked for '
                                         + ' or '.join(osp.basename(c) for c in candidates) + ')')
        pairs.append((path, found))
    return pairs
