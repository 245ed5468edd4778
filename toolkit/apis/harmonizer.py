"""``Harmonizer``: harmonize your own composites at any size with a zoo model or a config + checkpoint.

Rules every input goes through (the CLI uses the same code):

* images: RGB, grayscale (replicated), 16-bit (scaled), RGBA — opaque alpha dropped; transparent
  pixels flattened onto white (``alpha='flatten'``, default) or refused (``alpha='refuse'``);
* masks: 1- or 3-channel, ``{0, 255}``, ``{0, 1}`` or soft (see :mod:`toolkit.datasets.io`); a mask of
  another size but the same aspect ratio is resized, any other mismatch is refused;
* the foreground is ``mask > 0.5``: it must not be empty, and at least
  :data:`MIN_BACKGROUND_FRACTION` of the image must be background (the colours to match);
* the output has the input's size; background pixels (``mask = 0``) are the input's, bit for bit.
"""
from __future__ import annotations

import os
import os.path as osp
import re
import socket
import tempfile
from pathlib import Path
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch

from toolkit.datasets.io import HarmonizationDataError, drop_alpha, normalize_mask, read_image, read_mask
from toolkit.datasets.transforms.processing import match_size, resize_image, resize_mask
from toolkit.device import resolve_device

from .full_res import BandFunction, apply_in_bands, colour_transform_band, fit_colour_transform, resample_window

ImageInput = Union[str, os.PathLike, np.ndarray, 'PIL.Image.Image']  # noqa: F821

#: the smallest share of background (``mask ≤ 0.5``) an image may have: its colours are what the
#: foreground is matched to, and statistics of a few pixels are noise
MIN_BACKGROUND_FRACTION = 0.005
#: image formats ``save_image`` writes (by extension)
OUTPUT_EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.webp')


def _from_pil(image, name: str, alpha: str):
    from PIL import ImageOps
    image = ImageOps.exif_transpose(image)
    if image.mode == 'RGBA':
        return drop_alpha(np.asarray(image), name, alpha)
    if image.mode in ('I;16', 'I;16B', 'I'):
        return np.asarray(image, dtype=np.float64)
    return np.asarray(image.convert('RGB') if image.mode not in ('L', '1') else image.convert('L'))


def load_image_input(image: ImageInput, name: str = 'image', alpha: str = 'flatten') -> np.ndarray:
    """A path, PIL image or array → ``(H, W, 3)`` uint8 RGB (16-bit scaled, gray replicated, RGBA by ``alpha``)."""
    if isinstance(image, (str, os.PathLike)):
        return read_image(str(image), alpha=alpha)
    if hasattr(image, 'mode') and hasattr(image, 'size'):  # PIL
        image = _from_pil(image, name, alpha)
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
        array = drop_alpha(array, name, alpha)
    return np.ascontiguousarray(array)


def load_mask_input(mask: ImageInput, name: str = 'mask', dtype=np.float32) -> np.ndarray:
    """A path, PIL image or array → ``(H, W)`` in [0, 1] (float32) or on 0–255 (``dtype=np.uint8``), by the same
    rule as mask files (:func:`~toolkit.datasets.io.normalize_mask`)."""
    if isinstance(mask, (str, os.PathLike)):
        return read_mask(str(mask), dtype=dtype)
    if hasattr(mask, 'mode') and hasattr(mask, 'size'):  # PIL: palette, 1-bit and 32-bit modes as grey levels
        mask = np.asarray(mask if mask.mode in ('L', 'LA', 'RGB', 'RGBA', 'I;16') else mask.convert('L'))
    return normalize_mask(np.asarray(mask), name, dtype)


def check_regions(mask: np.ndarray, label: str, min_background: float = MIN_BACKGROUND_FRACTION) -> None:
    """Refuse a ``(H, W)`` uint8 mask with no foreground (``> 127``) or too little background.

    Raises:
        HarmonizationDataError: naming the mask and what is wrong.
    """
    foreground = int(np.count_nonzero(mask > 127))
    if not foreground:
        raise HarmonizationDataError(f'{label}: mask is empty (no pixel above 127/255 is foreground)')
    background = mask.size - foreground
    if not background:
        raise HarmonizationDataError(f'{label}: mask covers the whole image: no background pixels to match the '
                                     'foreground to')
    if background < min_background * mask.size:
        raise HarmonizationDataError(
            f'{label}: only {background} background pixels ({100.0 * background / mask.size:.2g} % of the image); '
            f'at least {100 * min_background:g} % must be background, whose colours the foreground is matched to')


def prepare_pair(image: ImageInput, mask: ImageInput, index: int = 0, alpha: str = 'flatten',
                 min_background: float = MIN_BACKGROUND_FRACTION) -> tuple[np.ndarray, np.ndarray]:
    """Load and check one composite and mask by the rules of the module doc (every model, the CLI and the page
    use them): ``(composite (H, W, 3) uint8, mask (H, W) uint8 0–255)``.

    Raises:
        HarmonizationDataError: naming the file (or ``image N`` / ``mask N`` for arrays) and the problem.
    """
    label = str(image) if isinstance(image, (str, os.PathLike)) else f'image {index}'
    mask_label = str(mask) if isinstance(mask, (str, os.PathLike)) else f'mask {index}'
    composite = load_image_input(image, label, alpha)
    soft_mask = load_mask_input(mask, mask_label, dtype=np.uint8)
    soft_mask = match_size(soft_mask, composite.shape[:2], mask_label, label)
    check_regions(soft_mask, mask_label, min_background)
    return composite, soft_mask


class TransferFunctionModel:
    """A non-learned harmonizer run as a plain function, without MMEngine's model stack (which alone costs ~1 s
    to import): ``function(images (B, 3, H, W) on 0–255, foreground (B, 1, H, W) binary) → images``.

    The zoo names the function of each non-learned model (``Metadata: Inference: module:function``); the
    baselines plugin's harmonizers call the same functions, so both paths give the same pictures.
    """

    def __init__(self, function: Callable, name: str = ''):
        self.function, self.name = function, name

    def to(self, device):
        return self

    def eval(self):
        return self

    def parameters(self):
        return iter(())

    def predict(self, composite: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(B, 3, h, w)`` uint8 and ``(B, 1, h, w)`` binary float → ``(B, 3, h, w)`` float on 0–255."""
        images = composite.float()
        foreground = (mask > 0.5).float()
        output = self.function(images, foreground).clamp(0, 255)
        return output * foreground + images * (1 - foreground)


def _import_function(reference: str) -> Callable:
    import importlib
    module_name, _, attribute = reference.partition(':')
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise ValueError(f'model index: inference function {reference!r} cannot be imported ({error})') from error


def _load_model(name_or_config: Optional[str], checkpoint: Optional[str], device: str, random_weights: bool):
    from toolkit import zoo
    if name_or_config is None:
        name_or_config = zoo.default_model_name()
    name_or_config = str(name_or_config)
    if '.py:' in name_or_config and checkpoint is None:
        config, _, checkpoint = name_or_config.partition('.py:')
        name_or_config = config + '.py'
    if not name_or_config.endswith('.py'):
        info = zoo.get_model_info(name_or_config)
        if info.weights is None and info.metadata.get('Inference'):  # a non-learned model: its function alone
            return TransferFunctionModel(_import_function(info.metadata['Inference']), name_or_config)
        return zoo.get_model(name_or_config, pretrained=not random_weights, device=device)
    from toolkit.hub import load_weights
    from toolkit.models import build_model_from_config
    model, _ = build_model_from_config(name_or_config)
    if checkpoint:
        if not osp.isfile(checkpoint):
            raise FileNotFoundError(f'{checkpoint}: checkpoint does not exist')
        load_weights(model, checkpoint)
    elif any(True for _ in model.parameters()) and not random_weights:
        count = sum(parameter.numel() for parameter in model.parameters())
        raise ValueError(f'{name_or_config}: {type(model).__name__} has {count:,} learned parameters but no checkpoint '
                         f'was given; use {osp.basename(name_or_config)}:CHECKPOINT (random weights only with '
                         '--random-weights, for debugging)')
    return model


def _mapping_band(mapping) -> BandFunction:
    """A model's colour function (``color_mapping``, one image) as a :data:`BandFunction`: its own NumPy path
    (``apply_levels``) when it has one, else the torch function on the band."""
    if callable(getattr(mapping, 'apply_levels', None)):
        return lambda pixels, rows, cols: mapping.apply_levels(pixels)

    def harmonize_band(pixels: np.ndarray, rows, cols) -> np.ndarray:
        unit = torch.from_numpy(np.ascontiguousarray(pixels.transpose(2, 0, 1)))[None].float() / 255.0
        return mapping(unit)[0].float().cpu().numpy().transpose(1, 2, 0) * np.float32(255.0)

    return harmonize_band


def _mixed_band(bands: Sequence[BandFunction], mix: Callable) -> BandFunction:
    """An ensemble's band function: its members' (each carried to full resolution its own way) mixed by ``mix``
    (the ensemble's ``mix_levels``).

    Each member's levels are clipped to 0–255 first, as its own output would be: the mix of what the members
    deliver, not of values that one of them would have clipped."""
    def harmonize_band(pixels: np.ndarray, rows, cols) -> np.ndarray:
        return mix([np.clip(np.asarray(band(pixels, rows, cols), dtype=np.float32), 0, 255) for band in bands])

    return harmonize_band


def check_strength(value) -> float:
    """A strength (the fraction of a model's change to apply) as a float in [0, 1]; anything else, NaN included, is
    a ``ValueError`` in one line (the CLI, the page's server and :class:`Harmonizer` all say the same).

    Example:
        >>> check_strength('0.5'), check_strength(1)
        (0.5, 1.0)
    """
    try:
        strength = float(value)
    except (TypeError, ValueError):
        strength = float('nan')
    if not 0.0 <= strength <= 1.0:
        raise ValueError(f'strength must be a number from 0 to 1 (the fraction of the change to apply); got {value!r}')
    return strength


def strength_suffix(strength: float) -> str:
    """What a result made at ``strength`` adds to its model's name: nothing at 1, else e.g. ``'_strength-0p8'``."""
    return '' if strength == 1.0 else f'_strength-{strength:g}'.replace('.', 'p')


class Harmonizer:
    """Harmonize composites of any size with a model that runs at a fixed resolution.

    The network sees the composite and mask resized to ``resolution``. With ``full_res`` (default)
    the low-resolution change is carried to the full-resolution pixels (:mod:`toolkit.apis.full_res`):
    models that predict a colour function (``color_mapping``) have it applied directly; others have
    their colour change fitted (global affine + local corrections), a composite already at ``resolution`` too (so
    that a network's texture errors never reach the output, at any size). Without ``full_res`` the output is
    upsampled bilinearly, and a composite already at ``resolution`` takes the network's output as is.
    The result has the input's size and ``output = harmonized·m + composite·(1 − m)``; where ``m = 0``
    it is the input, bit for bit.

    Args:
        strength: the fraction ``s`` of the model's change to apply, in [0, 1]: ``output = harmonized·s·m +
            composite·(1 − s·m)`` (1, the default: the whole change; 0: the composite as it is). For a composite
            that the model over-corrects; the zoo's numbers are at 1.
        alpha: RGBA inputs with transparent pixels: ``'flatten'`` onto white (default) or ``'refuse'``.
        min_background: the smallest background share of the image (see :func:`check_regions`).

    Example:
        >>> harmonizer = Harmonizer.from_pretrained('reinhard-lab')
        >>> image = np.zeros((300, 500, 3), np.uint8); image[:, 250:] = (200, 120, 40)
        >>> mask = np.zeros((300, 500), np.uint8); mask[100:200, 300:400] = 255
        >>> out = harmonizer.harmonize(image, mask)
        >>> out.shape, out.dtype.name, bool((out[mask == 0] == image[mask == 0]).all())
        ((300, 500, 3), 'uint8', True)
    """

    def __init__(self, model, resolution: int = 256, device: Optional[str] = None, full_res: bool = True,
                 batch_size: int = 4, radius: int = 2, eps: float = 1e-3, alpha: str = 'flatten',
                 min_background: float = MIN_BACKGROUND_FRACTION, strength: float = 1.0):
        self.strength = strength
        self.device = resolve_device(device)
        self.model = model.to(self.device).eval()
        self.resolution, self.full_res, self.batch_size = resolution, full_res, batch_size
        self.radius, self.eps, self.alpha, self.min_background = radius, eps, alpha, min_background

    @classmethod
    def from_pretrained(cls, name_or_config: Optional[str] = None, checkpoint: Optional[str] = None,
                        device: Optional[str] = None, random_weights: bool = False, **kwargs) -> 'Harmonizer':
        """A zoo model by name (``harmony list``; ``None`` = the zoo's default model), a config file with a
        checkpoint, or ``'CONFIG.py:CHECKPOINT'`` in one string (as the CLI takes it).

        Raises:
            ValueError: a config of a learned model without a checkpoint (unless ``random_weights``, for
                debugging), or an unknown/unavailable device.
        """
        device = resolve_device(device)
        return cls(_load_model(name_or_config, checkpoint, device, random_weights), device=device, **kwargs)

    @property
    def strength(self) -> float:
        """The fraction of the model's change applied (checked when set: :func:`check_strength`)."""
        return self._strength

    @strength.setter
    def strength(self, value) -> None:
        self._strength = check_strength(value)

    # ------------------------------------------------------------------------------------------------
    def prepare(self, image: ImageInput, mask: ImageInput, index: int = 0):
        """Load and check one pair: ``(composite (H, W, 3) uint8, mask (H, W) uint8 0–255)``."""
        return prepare_pair(image, mask, index, self.alpha, self.min_background)

    def _low_resolution(self, composite: np.ndarray, soft_mask: np.ndarray):
        size = (self.resolution, self.resolution)
        if composite.shape[:2] == size:
            low_composite, low_mask = composite, soft_mask
        else:
            low_composite, low_mask = resize_image(composite, size), resize_mask(soft_mask, size)
        binary = low_mask > 127
        if not binary.any():  # a tiny object: keep whatever survived the resize
            binary = low_mask >= max(1, int(low_mask.max()) // 2)
        return low_composite, binary.astype(np.float32)

    @property
    def uses_references(self) -> bool:
        """Whether the model takes reference images (``references=`` / ``gallery=``)."""
        return bool(getattr(self.model, 'uses_references', False))

    def _low_references(self, references: Optional[Sequence], index: int) -> Optional[torch.Tensor]:
        """One composite's references → ``(R, 3, r, r)`` uint8 at the network's resolution (or ``None``)."""
        if not references:
            return None
        if not self.uses_references:
            raise ValueError(f'{type(self.model).__name__} does not take reference images; use a reference-based '
                             'model (e.g. Raiha) or drop the references')
        size = (self.resolution, self.resolution)
        arrays = []
        for number, reference in enumerate(references):
            label = str(reference) if isinstance(reference, (str, os.PathLike)) else \
                f'reference {number} of image {index}'
            image = load_image_input(reference, label, self.alpha)
            arrays.append(image if image.shape[:2] == size else resize_image(image, size))
        return torch.from_numpy(np.stack(arrays).transpose(0, 3, 1, 2).copy())

    @torch.no_grad()
    def _run_model(self, low_composites: list, low_masks: list, want_mapping: bool,
                   low_references: Optional[list] = None, model=None):
        model = self.model if model is None else model
        composite = torch.from_numpy(np.stack(low_composites).transpose(0, 3, 1, 2)).to(self.device)
        mask = torch.from_numpy(np.stack(low_masks)[:, None]).to(self.device)
        if isinstance(model, TransferFunctionModel):
            return model.predict(composite, mask), None
        if low_references and any(refs is not None for refs in low_references):
            inputs = [dict(composite=composite[i], mask=mask[i],
                           references=None if refs is None else refs.to(self.device))
                      for i, refs in enumerate(low_references)]
        else:
            inputs = dict(composite=composite, mask=mask)
        data = model.data_preprocessor(dict(inputs=inputs, data_samples=None))
        samples = model(**data, mode='predict')
        prediction = torch.stack([sample.pred_img for sample in samples]).clamp(0, 255)
        mapping = None
        if want_mapping and callable(getattr(model, 'color_mapping', None)):
            mapping = model.color_mapping(data['inputs']['composite'], data['inputs']['mask'])
        return prediction, mapping

    def _band_function(self, composite: np.ndarray, low_composite: np.ndarray, low_mask: np.ndarray,
                       prediction: torch.Tensor, mapping, full_res: bool) -> BandFunction:
        height, width = composite.shape[:2]
        low_out = prediction.detach().float().cpu().numpy()  # (3, r, r) on 0–255
        if full_res and mapping is not None:
            return _mapping_band(mapping)
        if full_res:
            # also at the network's own size: a network that outputs the image (the CL family) does not reproduce
            # the foreground's texture, and its colour change carried onto the composite's pixels keeps it
            low_in = torch.from_numpy(low_composite.transpose(2, 0, 1))[None].double() / 255.0
            weights = torch.from_numpy(low_mask)[None, None]
            fit = fit_colour_transform(low_in, torch.from_numpy(low_out)[None].double() / 255.0, weights,
                                       self.radius, self.eps)
            return colour_transform_band(fit, (height, width))
        if composite.shape[:2] == low_composite.shape[:2]:  # already at the network's size: its output as is
            low_levels = low_out.transpose(1, 2, 0)
            return lambda pixels, rows, cols: low_levels[rows[0]:rows[1], cols[0]:cols[1]]
        return lambda pixels, rows, cols: resample_window(low_out, (height, width), rows, cols)

    @property
    def _is_ensemble(self) -> bool:
        """An ensemble's members are run and carried to full resolution one by one, then mixed (its ``mix_levels``)."""
        return callable(getattr(self.model, 'mix_levels', None))

    def _predict(self, prepared: list, full_res: bool, references: Optional[list] = None):
        """The network step: the low-resolution inputs and, per model (an ensemble's members, or the model),
        ``(predictions, colour mapping or None)``."""
        lows = [self._low_resolution(composite, soft_mask) for composite, soft_mask in prepared]
        models = list(self.model.members) if self._is_ensemble else [self.model]
        predicted = [self._run_model([low[0] for low in lows], [low[1] for low in lows], full_res, references,
                                     model=model) for model in models]
        return lows, predicted

    def _bands(self, prepared: list, lows: list, predicted: list, full_res: bool) -> list:
        """One band function per image: each model's change carried to full resolution its own way, mixed as the
        ensemble mixes its members (its ``mix_levels``)."""
        bands = []
        for index, ((composite, _), (low_composite, low_mask)) in enumerate(zip(prepared, lows)):
            members = [self._band_function(composite, low_composite, low_mask, predictions[index],
                                           None if mapping is None else mapping.select(index), full_res)
                       for predictions, mapping in predicted]
            bands.append(_mixed_band(members, self.model.mix_levels) if self._is_ensemble else members[0])
        return bands

    def _prepared_bands(self, prepared: list, full_res: bool, references: Optional[list] = None) -> list:
        """The network step, then one band function per prepared composite (what any strength applies)."""
        lows, predicted = self._predict(prepared, full_res, references)
        return self._bands(prepared, lows, predicted, full_res)

    def _harmonize_prepared(self, prepared: list, full_res: bool, in_place: bool = False,
                            references: Optional[list] = None) -> list:
        return [apply_in_bands(composite, soft_mask, band, out=composite if in_place else None,
                               strength=self.strength)
                for (composite, soft_mask), band in zip(prepared, self._prepared_bands(prepared, full_res,
                                                                                         references))]

    def harmonize(self, image, mask, full_res: Optional[bool] = None, references=None):
        """Harmonize one composite, or lists of composites and masks (processed in batches).

        Args:
            image: path, PIL image or array (RGB/RGBA/gray, 8- or 16-bit); or a list of them.
            mask: the matching mask(s): path, PIL image or array, 1- or 3-channel, binary, {0, 1} or soft.
            full_res: override the instance's ``full_res``.
            references: reference images for a reference-based model (:attr:`uses_references`): a list of
                images (path, PIL or array) for one composite, or one such list (possibly empty) per composite
                for list inputs. They are resized to the network's resolution, as in training. See
                :meth:`retrieve` to take them from a gallery.

        Returns:
            ``(H, W, 3)`` uint8 RGB at the input's size (a list for list inputs).

        Raises:
            HarmonizationDataError: unreadable input, mask/image size mismatch, empty mask or background.
        """
        full_res = self.full_res if full_res is None else full_res
        single = not isinstance(image, (list, tuple))
        images = [image] if single else list(image)
        masks = [mask] if single else list(mask)
        if len(images) != len(masks):
            raise ValueError(f'{len(images)} images but {len(masks)} masks')
        if references is None:
            per_image = [None] * len(images)
        elif single:
            per_image = [references if isinstance(references, (list, tuple)) else [references]]
        else:
            per_image = list(references)
            if len(per_image) != len(images):
                raise ValueError(f'{len(images)} images but {len(per_image)} reference lists')
        outputs = []
        for start in range(0, len(images), self.batch_size):
            stop = start + self.batch_size
            prepared = [self.prepare(img, msk, start + offset)
                        for offset, (img, msk) in enumerate(zip(images[start:stop], masks[start:stop]))]
            low_references = [self._low_references(refs, start + offset)
                              for offset, refs in enumerate(per_image[start:stop])]
            outputs += self._harmonize_prepared(prepared, full_res, references=low_references)
        return outputs[0] if single else outputs

    def harmonize_at_strengths(self, image, mask, strengths: Sequence[float], full_res: Optional[bool] = None,
                               references=None):
        """One composite harmonized at each strength in turn, the network run once.

        Each output is what :meth:`harmonize` gives with :attr:`strength` set to that value, bit for bit (the same
        band function is applied at each strength), so a dev set can be scored at many strengths for the price of
        one network pass (``tools/strength_sweep.py``).

        Args:
            image, mask, full_res, references: as :meth:`harmonize`, for one composite.
            strengths: fractions of the change in [0, 1] (each checked before any work: :func:`check_strength`).

        Yields:
            ``(strength, (H, W, 3) uint8)`` in the order given.

        Example:
            >>> harmonizer = Harmonizer.from_pretrained('reinhard-lab')
            >>> image = np.zeros((30, 50, 3), np.uint8); image[:, 25:] = (200, 120, 40)
            >>> mask = np.zeros((30, 50), np.uint8); mask[10:20, 30:40] = 255
            >>> outputs = dict(harmonizer.harmonize_at_strengths(image, mask, [0.0, 1.0]))
            >>> bool((outputs[0.0] == image).all()), bool((outputs[1.0] == harmonizer.harmonize(image, mask)).all())
            (True, True)
        """
        strengths = [check_strength(value) for value in strengths]
        full_res = self.full_res if full_res is None else full_res
        prepared = [self.prepare(image, mask)]
        (composite, soft_mask), = prepared
        band, = self._prepared_bands(prepared, full_res, [self._low_references(references, 0)])
        for strength in strengths:
            yield strength, apply_in_bands(composite, soft_mask, band, strength=strength)

    def carry(self, image, mask, low_output, full_res: Optional[bool] = None) -> np.ndarray:
        """Carry a given output at the network's resolution onto one composite, the way :meth:`harmonize` carries
        the network's own: its colour change fitted and applied at the composite's size (``full_res``), or the
        output upsampled bilinearly. The model is not run.

        What for: any 256² result (another toolkit's network, an edit) at full resolution; and the path's own floor,
        the real image at the network's size carried onto the composite (``tools/full_res_eval.py --oracle``).

        Args:
            image, mask, full_res: as :meth:`harmonize`, for one composite.
            low_output: ``(r, r, 3)`` RGB on 0–255 (uint8 or float), ``r`` the Harmonizer's resolution.

        Returns:
            ``(H, W, 3)`` uint8 at the composite's size; the background is the composite's.

        Raises:
            ValueError: ``low_output`` is not ``(r, r, 3)``.

        Example:
            >>> harmonizer = Harmonizer.from_pretrained('reinhard-lab', resolution=8)
            >>> image = np.full((30, 50, 3), 100, np.uint8); mask = np.zeros((30, 50), np.uint8)
            >>> mask[10:20, 10:40] = 255
            >>> out = harmonizer.carry(image, mask, np.full((8, 8, 3), 150, np.uint8))
            >>> int(out[15, 20, 0]), int(out[0, 0, 0])
            (150, 100)
        """
        full_res = self.full_res if full_res is None else full_res
        size = (self.resolution, self.resolution, 3)
        low_output = np.asarray(low_output)
        if low_output.shape != size:
            raise ValueError(f'low_output: expected shape {size} (the network resolution), got {low_output.shape}')
        composite, soft_mask = self.prepare(image, mask)
        low_composite, low_mask = self._low_resolution(composite, soft_mask)
        prediction = torch.from_numpy(low_output.astype(np.float32).transpose(2, 0, 1).copy())
        band = self._band_function(composite, low_composite, low_mask, prediction, None, full_res)
        return apply_in_bands(composite, soft_mask, band, strength=self.strength)

    def retrieve(self, image, mask, gallery: str, k: int = 1, retrieval_config: Optional[str] = None) -> list:
        """References for one composite from a gallery folder (Raiha's retrieval, eqs. 1–5), best first.

        Args:
            gallery: a folder built by ``tools/build_gallery.py``.
            k: how many to return (Raiha is trained with one reference per composite).
            retrieval_config: the config whose ``retriever`` built the gallery (default
                ``configs/retrieval/raiha-retrieval_dinov2-reg-b14-448.py``); the gallery refuses another encoder.

        Returns:
            :class:`~toolkit.interfaces.RetrievedReference` list (``path``, ``extra['content']``,
            ``extra['illumination']``); empty when no gallery image qualifies.
        """
        from toolkit.retrieval import DEFAULT_RETRIEVAL_CONFIG, build_retriever
        config = retrieval_config or DEFAULT_RETRIEVAL_CONFIG
        key = (osp.abspath(gallery), osp.abspath(config))
        retrievers = self.__dict__.setdefault('_retrievers', {})
        if key not in retrievers:
            if not osp.isfile(osp.join(gallery, 'index.json')):
                raise HarmonizationDataError(f'{gallery}: not a gallery (no index.json); build one with '
                                             'tools/build_gallery.py')
            retrievers[key] = build_retriever(config, gallery=gallery, device=str(self.device))
        composite, soft_mask = self.prepare(image, mask)
        return retrievers[key].query(composite, soft_mask.astype(np.float32) / 255.0, k=k)

    def harmonize_file(self, image_path: str, mask_path: str, output_path: str, full_res: Optional[bool] = None,
                       overwrite: bool = False, references: Optional[Sequence] = None) -> str:
        """Harmonize ``image_path`` with ``mask_path`` into ``output_path``, in bounded memory.

        The composite's own buffer receives the result, and the file is written to a temporary name in
        the output's folder and renamed, so an interrupted run never leaves a partial image. Refuses an
        output that is one of the inputs, and an existing output unless ``overwrite``.
        """
        check_output_path(output_path, [image_path, mask_path], overwrite)
        full_res = self.full_res if full_res is None else full_res
        composite, soft_mask = self.prepare(image_path, mask_path)
        low_references = [self._low_references(list(references or []), 0)]
        output = self._harmonize_prepared([(composite, soft_mask)], full_res, in_place=True,
                                          references=low_references)[0]
        del soft_mask
        save_image(output_path, output, in_place=True)
        return output_path


# ---------------------------------------------------------------------------------------------- writing
def check_output_path(output_path: str, inputs: Sequence[str], overwrite: bool = False) -> None:
    """Refuse an output that would replace an input, that has no image extension, is a folder, or exists
    (unless ``overwrite``).

    Raises:
        HarmonizationDataError: naming the output and the problem.
    """
    extension = osp.splitext(str(output_path))[1].lower()
    if osp.isdir(output_path):
        raise HarmonizationDataError(f'{output_path}: is a folder; give an output file name such as out.png')
    if extension not in OUTPUT_EXTENSIONS:
        raise HarmonizationDataError(f'{output_path}: unknown image extension {extension or "(none)"!r}; use one '
                                     f'of {", ".join(OUTPUT_EXTENSIONS)}')
    target = osp.realpath(output_path)
    for path in inputs:
        if path is not None and osp.realpath(str(path)) == target:
            raise HarmonizationDataError(f'{output_path}: is an input ({path}); inputs are never overwritten, '
                                         'choose another output name')
    if osp.exists(output_path) and not overwrite:
        raise HarmonizationDataError(f'{output_path}: already exists; pass --overwrite to replace it')


#: temporary files of :func:`save_image`: ``.<stem>.partial-<host>-<pid><ext>`` beside the output
_PARTIAL = re.compile(r'^\.(?P<stem>.+)\.partial-(?:(?P<host>[^/]+)-)?(?P<pid>\d+)(?P<ext>\.[A-Za-z0-9]+)$')


def _host() -> str:
    return re.sub(r'[^A-Za-z0-9_.]', '_', socket.gethostname()) or 'localhost'


def _process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def remove_stale_partials(folder: str) -> list[str]:
    """Remove the temporary files that runs killed on this machine (SIGKILL, power loss) left in ``folder``.

    A temporary file names its host and process (see :func:`save_image`); it is stale when that process no
    longer runs. Files of live processes and of other hosts (a shared folder) are kept. Returns the removed
    paths.
    """
    removed = []
    if not osp.isdir(folder):
        return removed
    host = _host()
    for name in os.listdir(folder):
        match = _PARTIAL.match(name)
        if not match or (match['host'] not in (None, host)) or int(match['pid']) == os.getpid():
            continue
        if not _process_is_alive(int(match['pid'])):
            try:
                os.remove(osp.join(folder, name))
                removed.append(osp.join(folder, name))
            except OSError:
                pass
    return removed


def check_output_folder(folder: str) -> None:
    """Make sure images can be written into ``folder`` (created when missing) before any work is done.

    Raises:
        HarmonizationDataError: naming the folder and the operating system's reason (permission denied,
            read-only file system, a file in the way, …).
    """
    folder = folder or '.'
    try:
        os.makedirs(folder, exist_ok=True)
        handle, probe = tempfile.mkstemp(prefix='.harmony-write-check-', dir=folder)
        os.close(handle)
        os.remove(probe)
    except OSError as error:
        reason = error.strerror or str(error)
        raise HarmonizationDataError(f'{folder}: cannot write the output there ({reason})') from None


def save_image(path: Union[str, Path], image: np.ndarray, in_place: bool = False) -> None:
    """Write an RGB uint8 image (format from the extension) atomically: a temporary file in the same folder,
    then a rename, so the path holds either the old file or the complete new one.

    The image is encoded in memory first, so a failure to write says why (the operating system's reason:
    no space, permission denied), and one to encode says so. ``in_place`` lets the RGB→BGR conversion reuse
    ``image``'s buffer (it is BGR afterwards).
    """
    import cv2
    path = str(path)
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    stem, extension = osp.splitext(osp.basename(path))
    temporary = osp.join(folder, f'.{stem}.partial-{_host()}-{os.getpid()}{extension}')
    bgr = cv2.cvtColor(image, cv2.COLOR_RGB2BGR, dst=image if in_place else None)
    encoded, data = cv2.imencode(extension, bgr)
    if not encoded:
        raise OSError(f'{path}: OpenCV could not encode a {image.shape[1]}×{image.shape[0]} image as {extension}')
    try:
        try:
            with open(temporary, 'wb') as handle:
                handle.write(data.data)
        except OSError as error:
            raise OSError(f'{path}: could not write the image ({error.strerror or error})') from None
        del data
        os.replace(temporary, path)
    except BaseException:
        if osp.exists(temporary):
            os.remove(temporary)
        raise


def pair_masks(image_paths: Sequence[str], mask_dir: str) -> list[tuple[str, Optional[str]]]:
    """Match each image with ``<mask_dir>/<stem>.png`` or the iHarmony4 mask ``<real>_<fg>.png`` of ``<real>_<fg>_<k>``.

    Images without a mask are paired with ``None`` (the caller reports them).
    """
    from toolkit.datasets.iharmony4 import parse_composite_name
    pairs = []
    for path in image_paths:
        stem = osp.splitext(osp.basename(path))[0]
        candidates = [osp.join(mask_dir, stem + '.png')]
        try:
            candidates.append(osp.join(mask_dir, parse_composite_name(path)[0] + '.png'))
        except HarmonizationDataError:
            pass
        pairs.append((path, next((candidate for candidate in candidates if osp.isfile(candidate)), None)))
    return pairs


def folder_outputs(image_paths: Sequence[str], output_dir: str) -> tuple[list[str], list[str]]:
    """The output file of each composite of a folder run, and a note per renamed one.

    ``x.jpg`` is written to ``<output_dir>/x.png``. Composites that share a stem (``x.jpg`` and ``x.png``) would
    overwrite each other there, so each of them is written to ``x.<ext>.png`` instead (``x.jpg.png``,
    ``x.png.png``) and a note says so; a name that still collides is refused.

    Raises:
        HarmonizationDataError: two composites that cannot be given distinct output names.

    Example:
        >>> folder_outputs(['in/a.jpg', 'in/a.png', 'in/b.jpg'], 'out')[0]
        ['out/a.jpg.png', 'out/a.png.png', 'out/b.png']
    """
    stems = [osp.splitext(osp.basename(path))[0] for path in image_paths]
    counts: dict[str, int] = {}
    for stem in stems:
        counts[stem] = counts.get(stem, 0) + 1
    targets, notes, taken = [], [], {}
    for path, stem in zip(image_paths, stems):
        name = stem + '.png' if counts[stem] == 1 else osp.basename(path) + '.png'
        if counts[stem] > 1:
            notes.append(f'{path}: another composite is also named {stem}.*; writing {name} instead of {stem}.png')
        target = osp.join(output_dir, name)
        if target in taken:
            raise HarmonizationDataError(f'{path}: its output {target} is also the output of {taken[target]}; '
                                         'rename one of them')
        taken[target] = path
        targets.append(target)
    return targets, notes


def mask_candidates(image_path: str, mask_dir: str) -> str:
    """The file names :func:`pair_masks` looks for, for an error message."""
    from toolkit.datasets.iharmony4 import parse_composite_name
    stem = osp.splitext(osp.basename(image_path))[0]
    names = [stem + '.png']
    try:
        names.append(parse_composite_name(image_path)[0] + '.png')
    except HarmonizationDataError:
        pass
    return ' or '.join(names)
