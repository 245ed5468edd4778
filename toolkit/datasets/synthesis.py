"""Synthetic harmonization triplets from real photos, made the way iHarmony4 was: re-colour a masked region.

* Photos come from a :class:`~toolkit.datasets.photos.PhotoCollection`: a folder, or the Lalonde & Efros
  LabelMe photos with annotated object masks and classes (:mod:`toolkit.datasets.lalonde_efros`).
* Masks: the photo's own (annotated, or ``masks/<name>_<k>.png`` next to the photos), or generated:
  GrabCut seeded with a random rectangle, or a union of random ellipses; both smoothed, area 5–60 %.
* Perturbations (each a registered transform with ``sample(rng, results) -> params`` and
  ``apply(image, params, results) -> image``, so a manifest entry replays exactly):
  :class:`SameClassTransfer` (HCOCO's recipe: colour of a same-class object in another photo),
  :class:`RetouchStyle` (HAdobe5k-like global edits), :class:`ReinhardTransfer` and
  :class:`HistogramTransfer` from another photo, :class:`GainGammaExposure`, :class:`WhiteBalanceShift`,
  :class:`SaturationHueShift`, :class:`RandomToneCurve`. :class:`RandomPerturbation` picks one per
  composite and re-draws until the foreground changed by at least ``min_change`` (and at most
  ``max_change``; mean absolute difference on 0–255).
* The composite is ``perturbed·m + real·(1 − m)`` with the binary mask, so its background equals the
  real image exactly.

Offline: :func:`make_composites` (``tools/make_composites.py``) writes an iHarmony4-layout dataset and
a JSON manifest. Online: :class:`SyntheticCompositeDataset` with the :class:`SynthesizeComposite`
transform makes the same triplets on the fly during training.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import os.path as osp
from typing import Callable, Optional, Sequence, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform
from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from toolkit.ops import match_cumulative_cdf
from toolkit.registry import DATASETS, TRANSFORMS

from .io import HarmonizationDataError, read_image, read_mask
from .photos import PhotoCollection, open_collection


# --------------------------------------------------------------------------------------------- masks
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


def _clip_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


class Perturbation(BaseTransform):
    """Base: ``sample`` parameters from ``results['rng']``, ``apply`` them to the real image ``results['gt']``,
    paste the result into the foreground of ``results['composite']`` and record the parameters."""

    def sample(self, rng: np.random.Generator, results: dict) -> dict:
        raise NotImplementedError

    def apply(self, image: np.ndarray, params: dict, results: dict) -> np.ndarray:
        raise NotImplementedError

    def transform(self, results: dict) -> dict:
        params = self.sample(results['rng'], results)
        perturbed = self.apply(results['gt'], params, results)
        foreground = results['mask'].astype(bool)
        composite = results['gt'].copy()
        composite[foreground] = perturbed[foreground]
        results['composite'] = composite
        results['perturbation'] = dict(type=type(self).__name__, params=params)
        return results


def _pick_reference(rng, results, pool=None) -> str:
    """Another photo of the collection (from ``pool`` when given and not empty)."""
    photos = results['photos']
    candidates = [name for name in (pool or photos.names) if name != results['photo_name']]
    if not candidates:
        raise HarmonizationDataError(f'{photos.root}: colour transfer needs at least two photos')
    return candidates[int(rng.integers(len(candidates)))]


def _lab(image: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def lab_statistics_transfer(image: np.ndarray, foreground: np.ndarray, reference_lab: np.ndarray,
                            strength: float) -> np.ndarray:
    """Reinhard et al.: give the ``foreground`` pixels of ``image`` the Lab mean/std of ``reference_lab`` (N, 3).

    ``strength`` in [0, 1] blends the original (0) with the full transfer (1); the whole image is mapped
    (callers paste the foreground).
    """
    lab = _lab(image)
    source = lab[foreground]
    mean, std = source.mean(0), source.std(0) + 1e-6
    transferred = (lab - mean) / std * reference_lab.std(0) + reference_lab.mean(0)
    mixed = strength * transferred + (1 - strength) * lab
    mixed[..., 0] = np.clip(mixed[..., 0], 0, 100)
    return _clip_uint8(cv2.cvtColor(mixed.astype(np.float32), cv2.COLOR_LAB2RGB) * 255.0)


def histogram_transfer(image: np.ndarray, foreground: np.ndarray, reference_pixels: np.ndarray) -> np.ndarray:
    """Per-channel histogram matching of the ``foreground`` pixels of ``image`` to ``reference_pixels`` (N, 3)."""
    output = image.copy()
    for channel in range(3):
        plane = output[..., channel]
        plane[foreground] = _clip_uint8(match_cumulative_cdf(image[..., channel][foreground],
                                                             reference_pixels[:, channel]))
    return output


@TRANSFORMS.register_module()
class ReinhardTransfer(Perturbation):
    """Reinhard colour transfer in Lab: the foreground takes the Lab mean/std of another photo.

    ``strength`` in [0, 1] blends between the original (0) and the full transfer (1).
    """

    def __init__(self, strength=(0.6, 1.0)):
        self.strength = strength

    def sample(self, rng, results):
        return dict(reference=_pick_reference(rng, results), strength=float(rng.uniform(*self.strength)))

    def apply(self, image, params, results):
        reference = results['photos'].image(params['reference'])
        return lab_statistics_transfer(image, results['mask'].astype(bool), _lab(reference).reshape(-1, 3),
                                       params['strength'])


@TRANSFORMS.register_module()
class HistogramTransfer(Perturbation):
    """Per-channel histogram matching of the foreground to another photo."""

    def sample(self, rng, results):
        return dict(reference=_pick_reference(rng, results))

    def apply(self, image, params, results):
        reference = results['photos'].image(params['reference'])
        return histogram_transfer(image, results['mask'].astype(bool), reference.reshape(-1, 3))


@TRANSFORMS.register_module()
class GainGammaExposure(Perturbation):
    """``out = 255·(gain_c · 2^exposure · (x/255))^gamma_c`` per channel."""

    def __init__(self, gain=(0.7, 1.3), gamma=(0.7, 1.4), exposure=(-0.7, 0.7)):
        self.gain, self.gamma, self.exposure = gain, gamma, exposure

    def sample(self, rng, results):
        return dict(gain=rng.uniform(*self.gain, size=3).tolist(), gamma=rng.uniform(*self.gamma, size=3).tolist(),
                    exposure=float(rng.uniform(*self.exposure)))

    def apply(self, image, params, results):
        scaled = image.astype(np.float64) / 255.0 * np.array(params['gain']) * 2.0 ** params['exposure']
        return _clip_uint8(255.0 * np.clip(scaled, 0, 1) ** np.array(params['gamma']))


@TRANSFORMS.register_module()
class WhiteBalanceShift(Perturbation):
    """A colour-temperature-like shift: red and blue gains move in opposite directions, plus a green tint."""

    def __init__(self, temperature=(-0.35, 0.35), tint=(-0.1, 0.1)):
        self.temperature, self.tint = temperature, tint

    def sample(self, rng, results):
        return dict(temperature=float(rng.uniform(*self.temperature)), tint=float(rng.uniform(*self.tint)))

    def apply(self, image, params, results):
        gains = np.array([1 + params['temperature'], 1 + params['tint'], 1 - params['temperature']])
        return _clip_uint8(image.astype(np.float64) * gains)


@TRANSFORMS.register_module()
class SaturationHueShift(Perturbation):
    """Scale saturation and rotate hue (HSV, hue in degrees)."""

    def __init__(self, saturation=(0.4, 1.6), hue=(-25.0, 25.0)):
        self.saturation, self.hue = saturation, hue

    def sample(self, rng, results):
        return dict(saturation=float(rng.uniform(*self.saturation)), hue=float(rng.uniform(*self.hue)))

    def apply(self, image, params, results):
        hsv = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = np.mod(hsv[..., 0] + params['hue'], 360.0)
        hsv[..., 1] = np.clip(hsv[..., 1] * params['saturation'], 0, 1)
        return _clip_uint8(cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB) * 255.0)


@TRANSFORMS.register_module()
class RandomToneCurve(Perturbation):
    """A smooth monotone tone curve per channel through random control points (monotone cubic interpolation)."""

    def __init__(self, control_points: int = 4, strength=(0.08, 0.25)):
        self.control_points, self.strength = control_points, strength

    def sample(self, rng, results):
        knots = np.linspace(0, 1, self.control_points + 2)
        curves = []
        for _ in range(3):
            offsets = rng.uniform(-1, 1, size=self.control_points) * rng.uniform(*self.strength)
            values = np.concatenate([[0.0], np.clip(knots[1:-1] + offsets, 0.02, 0.98), [1.0]])
            curves.append(np.maximum.accumulate(values).tolist())
        return dict(knots=knots.tolist(), curves=curves)

    @staticmethod
    def _monotone_cubic(knots, values, x):
        """Fritsch–Carlson monotone cubic interpolation (smooth, never overshoots)."""
        knots, values = np.asarray(knots), np.asarray(values)
        slopes = np.diff(values) / np.diff(knots)
        tangents = np.concatenate([[slopes[0]], (slopes[:-1] + slopes[1:]) / 2, [slopes[-1]]])
        for i, slope in enumerate(slopes):
            if slope == 0:
                tangents[i] = tangents[i + 1] = 0
            else:
                a, b = tangents[i] / slope, tangents[i + 1] / slope
                norm = a * a + b * b
                if norm > 9:
                    tau = 3 / np.sqrt(norm)
                    tangents[i], tangents[i + 1] = tau * a * slope, tau * b * slope
        segment = np.clip(np.searchsorted(knots, x, side='right') - 1, 0, len(knots) - 2)
        width = knots[segment + 1] - knots[segment]
        t = (x - knots[segment]) / width
        h00, h10 = 2 * t ** 3 - 3 * t ** 2 + 1, t ** 3 - 2 * t ** 2 + t
        h01, h11 = -2 * t ** 3 + 3 * t ** 2, t ** 3 - t ** 2
        return (h00 * values[segment] + h10 * width * tangents[segment] + h01 * values[segment + 1]
                + h11 * width * tangents[segment + 1])

    def apply(self, image, params, results):
        grid = np.arange(256) / 255.0
        output = np.empty_like(image)
        for channel, curve in enumerate(params['curves']):
            table = _clip_uint8(255.0 * self._monotone_cubic(params['knots'], curve, grid))
            output[..., channel] = table[image[..., channel]]
        return output


@TRANSFORMS.register_module()
class SameClassTransfer(Perturbation):
    """iHarmony4's HCOCO recipe: the foreground takes the colour of an object **of the same class** in another photo.

    The reference is the annotated object of another photo whose class (``photos.object_class``) is the
    same; the transfer is Reinhard's Lab statistics (``'lab-statistics'``) or per-channel histogram
    matching (``'histogram'``) to that object's pixels. Collections without classes, or a class with a
    single photo, fall back to any other photo's object (``fallback='any'``) or raise (``'error'``).
    """

    def __init__(self, methods: Sequence[str] = ('lab-statistics', 'histogram'), strength=(0.7, 1.0),
                 fallback: str = 'any'):
        unknown = set(methods) - {'lab-statistics', 'histogram'}
        if unknown or not methods:
            raise ValueError(f"methods must be from 'lab-statistics', 'histogram'; got {methods}")
        if fallback not in ('any', 'error'):
            raise ValueError(f"fallback must be 'any' or 'error'; got {fallback!r}")
        self.methods, self.strength, self.fallback = tuple(methods), strength, fallback

    def sample(self, rng, results):
        photos = results['photos']
        label = photos.object_class(results['photo_name'])
        pool = [name for name in photos.classes().get(label, []) if name != results['photo_name']]
        if not pool and self.fallback == 'error':
            raise HarmonizationDataError(f'{results["photo_name"]}: no other photo of class {label!r}')
        with_masks = pool or [name for name in photos.names if photos.mask_labels(name)]
        reference = _pick_reference(rng, results, with_masks)
        return dict(reference=reference, reference_class=photos.object_class(reference),
                    method=self.methods[int(rng.integers(len(self.methods)))],
                    strength=float(rng.uniform(*self.strength)))

    def apply(self, image, params, results):
        photos = results['photos']
        reference = photos.image(params['reference'])
        if photos.mask_labels(params['reference']):
            region = photos.mask(params['reference'], 0).astype(bool)
        else:  # a collection without object masks: the whole reference photo
            region = np.ones(reference.shape[:2], bool)
        foreground = results['mask'].astype(bool)
        if params['method'] == 'histogram':
            transferred = histogram_transfer(image, foreground, reference[region])
            return _clip_uint8(params['strength'] * transferred.astype(np.float64)
                               + (1 - params['strength']) * image.astype(np.float64))
        return lab_statistics_transfer(image, foreground, _lab(reference)[region], params['strength'])


def _srgb_to_linear(x: np.ndarray) -> np.ndarray:
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 0, 1)
    return np.where(x <= 0.0031308, 12.92 * x, 1.055 * x ** (1 / 2.4) - 0.055)


@TRANSFORMS.register_module()
class RetouchStyle(Perturbation):
    """A photographer's global edit, as HAdobe5k's expert retouches are: several adjustments at once.

    In this order: white balance (``temperature``, ``tint`` gains), exposure in linear light (stops),
    contrast (an S-curve around mid-grey), shadows/highlights (lift or crush each end), saturation
    (about the Rec. 709 luma). Each adjustment is used with probability ``use_prob`` (at least one).
    """

    def __init__(self, temperature=(-0.25, 0.25), tint=(-0.08, 0.08), exposure=(-0.9, 0.9), contrast=(-0.5, 0.5),
                 shadows=(-0.3, 0.3), highlights=(-0.3, 0.3), saturation=(0.55, 1.45), use_prob: float = 0.6):
        self.ranges = dict(temperature=temperature, tint=tint, exposure=exposure, contrast=contrast, shadows=shadows,
                           highlights=highlights, saturation=saturation)
        self.use_prob = use_prob

    NEUTRAL = dict(temperature=0.0, tint=0.0, exposure=0.0, contrast=0.0, shadows=0.0, highlights=0.0, saturation=1.0)

    def sample(self, rng, results):
        names = list(self.ranges)
        used = rng.random(len(names)) < self.use_prob
        if not used.any():
            used[int(rng.integers(len(names)))] = True
        values = {name: float(rng.uniform(*self.ranges[name])) for name in names}  # always draw: stable streams
        return {name: values[name] if use else self.NEUTRAL[name] for name, use in zip(names, used)}

    def apply(self, image, params, results):
        x = image.astype(np.float64) / 255.0
        x = x * np.array([1 + params['temperature'], 1 + params['tint'], 1 - params['temperature']])
        x = _linear_to_srgb(_srgb_to_linear(np.clip(x, 0, 1)) * 2.0 ** params['exposure'])
        x = x + params['contrast'] * x * (1 - x) * (2 * x - 1) * 2  # S-curve (contrast > 0) or its inverse
        x = np.clip(x, 0, 1)
        x = x + params['shadows'] * (1 - x) ** 3 * x * 2 + params['highlights'] * x ** 3 * (1 - x) * 2
        luma = (x @ np.array([0.2126, 0.7152, 0.0722]))[..., None]
        x = luma + params['saturation'] * (x - luma)
        return _clip_uint8(255.0 * np.clip(x, 0, 1))


DEFAULT_PERTURBATIONS = (
    dict(type='ReinhardTransfer'), dict(type='HistogramTransfer'), dict(type='GainGammaExposure'),
    dict(type='WhiteBalanceShift'), dict(type='SaturationHueShift'), dict(type='RandomToneCurve'),
)


def _build(cfg):
    if isinstance(cfg, BaseTransform):
        return cfg
    with DefaultScope.overwrite_default_scope('toolkit'):
        return TRANSFORMS.build(cfg)


@TRANSFORMS.register_module()
class RandomPerturbation(BaseTransform):
    """Pick one perturbation per composite (``weights``) and re-draw until the change is visible.

    Args:
        perturbations: transform configs (default: all six).
        min_change: minimum mean absolute foreground difference on 0–255.
        max_change: re-draw changes larger than this (``None``: no bound); keeps the magnitudes of the
            training composites near those of real data.
        max_tries: draws before giving up (an error naming the photo).
    """

    def __init__(self, perturbations: Sequence = DEFAULT_PERTURBATIONS, weights: Optional[Sequence[float]] = None,
                 min_change: float = 6.0, max_change: Optional[float] = None, max_tries: int = 20):
        self.perturbations = [_build(cfg) for cfg in perturbations]
        weights = np.ones(len(self.perturbations)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.weights = weights / weights.sum()
        self.min_change, self.max_change, self.max_tries = min_change, max_change, max_tries
        self.by_name = {type(p).__name__: p for p in self.perturbations}

    def transform(self, results: dict) -> dict:
        rng = results['rng']
        for attempt in range(self.max_tries):
            chosen = self.perturbations[int(rng.choice(len(self.perturbations), p=self.weights))]
            chosen.transform(results)
            change = visible_change(results['gt'], results['composite'], results['mask'])
            if change >= self.min_change and (self.max_change is None or change <= self.max_change):
                results['perturbation']['visible_change'] = change
                results['perturbation']['attempts'] = attempt + 1
                return results
        wanted = (f'at least {self.min_change}' if self.max_change is None
                  else f'between {self.min_change} and {self.max_change}')
        raise HarmonizationDataError(f'{results.get("photo_name")}: no perturbation changed the foreground by '
                                     f'{wanted} after {self.max_tries} draws')

    def replay(self, results: dict, perturbation: dict) -> np.ndarray:
        """Re-apply a recorded ``{'type', 'params'}`` to ``results['gt']`` within ``results['mask']``."""
        transform = self.by_name[perturbation['type']]
        perturbed = transform.apply(results['gt'], perturbation['params'], results)
        composite = results['gt'].copy()
        foreground = results['mask'].astype(bool)
        composite[foreground] = perturbed[foreground]
        return composite


# ------------------------------------------------------------------------------------------ masks
def example_rng(seed: int, photo_index: int, mask_index: int, composite_index: int = -1) -> np.random.Generator:
    """An independent, reproducible stream per (seed, photo, mask, composite)."""
    return np.random.default_rng(np.random.SeedSequence([seed, photo_index, mask_index, composite_index + 1]))


def _as_collection(photos: Union[str, dict, PhotoCollection]) -> PhotoCollection:
    if isinstance(photos, PhotoCollection):
        return photos
    if isinstance(photos, dict):
        return open_collection(photos)
    return open_collection(dict(kind='folder', root=photos))


@TRANSFORMS.register_module()
class SynthesizeComposite(BaseTransform):
    """Online synthesis: from a photo of a collection make ``gt``, ``mask``, ``composite`` (then Resize/Pack).

    Required keys: ``photo_source`` (a collection spec, :func:`~toolkit.datasets.photos.open_collection`),
    ``photo_name``, ``photo_index``, ``mask_index``, ``composite_index``, ``seed``. Adds ``gt``, ``mask``
    (float {0, 1}), ``composite``, ``perturbation``, ``mask_source`` and the usual ``ori_shape``/``img_shape``.
    The photo's provided masks are used when it has any; otherwise masks are generated.
    """

    def __init__(self, perturbation: dict = dict(type='RandomPerturbation'), mask_method: str = 'grabcut',
                 area_range=(0.05, 0.6), mask_cache_size: int = 256):
        self.perturbation = _build(perturbation)
        self.mask_method, self.area_range = mask_method, tuple(area_range)
        # a mask is a pure function of (photo, seed, mask index): compute each once
        self._mask = functools.lru_cache(maxsize=mask_cache_size)(self._make_mask)

    def _make_mask(self, photos: PhotoCollection, photo_name: str, seed: int, photo_index: int, mask_index: int):
        labels = photos.mask_labels(photo_name)
        if labels:
            index = mask_index % len(labels)
            return photos.mask(photo_name, index), f'provided:{labels[index]}'
        return generate_mask(photos.image(photo_name), example_rng(seed, photo_index, mask_index), self.mask_method,
                             self.area_range)

    def transform(self, results: dict) -> dict:
        photos = results['photos'] = open_collection(results['photo_source'])
        results['gt'] = photos.image(results['photo_name']).copy()
        mask, results['mask_source'] = self._mask(photos, results['photo_name'], results['seed'],
                                                  results['photo_index'], results['mask_index'])
        results['mask'] = mask.copy()
        results['rng'] = example_rng(results['seed'], results['photo_index'], results['mask_index'],
                                     results['composite_index'])
        self.perturbation.transform(results)
        results['mask'] = results['mask'].astype(np.float32)
        results['ori_shape'] = results['img_shape'] = results['gt'].shape[:2]
        results['subset'] = results.get('subset', 'synthetic')
        return results


# ------------------------------------------------------------------------------------------ offline
def _write_png(path: str, image: np.ndarray) -> None:
    array = cv2.cvtColor(image, cv2.COLOR_RGB2BGR) if image.ndim == 3 else image
    if not cv2.imwrite(path, array):
        raise OSError(f'could not write {path}')


def split_photos(names: Sequence[str], test_fraction: float, seed: int) -> set[str]:
    """The photos of the test split: a seeded random ``test_fraction`` of them (split by photo, never by composite)."""
    order = np.random.default_rng(np.random.SeedSequence([seed, 2 ** 20])).permutation(len(names))
    test_count = int(round(test_fraction * len(names))) if len(names) > 1 else 0
    return {names[i] for i in order[:test_count]}


def make_composites(photos: Union[str, dict, PhotoCollection], out_root: str, per_image: int = 20,
                    masks_per_image: int = 4, seed: int = 0, name: Optional[str] = None, test_fraction: float = 0.2,
                    mask_method: str = 'grabcut', area_range=(0.05, 0.6),
                    perturbation: dict = dict(type='RandomPerturbation'), metadata: Optional[dict] = None,
                    progress: Optional[Callable[[int, int], None]] = None) -> dict:
    """Write an iHarmony4-layout dataset under ``out_root/<name>/`` plus ``IHD_{train,test}.txt`` and a manifest.

    Args:
        photos: a folder of photos, a collection spec, or a :class:`~toolkit.datasets.photos.PhotoCollection`
            (e.g. :class:`~toolkit.datasets.lalonde_efros.LalondeEfrosPhotos` with object masks and classes).
        metadata: extra fields for the manifest (e.g. the recipe that made it).

    Each photo gets its provided masks, or ``masks_per_image`` generated ones, and ``per_image``
    composites spread over them, named ``<photo>_<mask>_<k>.png`` as iHarmony4 does. Photos (not
    composites) are split into train and test, so no real image appears in both. Everything is PNG,
    so a composite's background equals its real image exactly. Same arguments and seed → identical files.

    Returns:
        The manifest (also written to ``out_root/<name>/manifest.json``).
    """
    photos = _as_collection(photos)
    names = list(photos.names)
    name = name or osp.basename(osp.normpath(photos.root))
    subset_root = osp.join(out_root, name)
    for folder in ('composite_images', 'masks', 'real_images'):
        os.makedirs(osp.join(subset_root, folder), exist_ok=True)
    synthesize = SynthesizeComposite(perturbation, mask_method, area_range)
    test_photos = split_photos(names, test_fraction, seed)
    manifest = dict(generator='toolkit.datasets.synthesis', version=2, seed=seed, photo_source=photos.spec(),
                    name=name, per_image=per_image, masks_per_image=masks_per_image, mask_method=mask_method,
                    area_range=list(area_range), perturbation=perturbation, test_fraction=test_fraction,
                    **(metadata or {}), composites=[])
    splits = dict(train=[], test=[])
    total, done = len(names) * per_image, 0
    for photo_index, photo_name in enumerate(names):
        stem = osp.splitext(photo_name)[0].replace('_', '-')  # keeps <real>_<fg>_<k> parseable
        mask_count = len(photos.mask_labels(photo_name)) or masks_per_image
        split = 'test' if photo_name in test_photos else 'train'
        real_written = False
        for k in range(per_image):
            mask_index = k % mask_count
            results = dict(photo_source=photos.spec(), photo_name=photo_name, seed=seed, photo_index=photo_index,
                           mask_index=mask_index, composite_index=k)
            synthesize.transform(results)
            if not real_written:
                _write_png(osp.join(subset_root, 'real_images', f'{stem}.png'), results['gt'])
                real_written = True
            mask_name = f'{stem}_{mask_index + 1}.png'
            mask_path = osp.join(subset_root, 'masks', mask_name)
            if not osp.isfile(mask_path) or k < mask_count:
                _write_png(mask_path, (results['mask'] > 0.5).astype(np.uint8) * 255)
            composite_name = f'{stem}_{mask_index + 1}_{k + 1}.png'
            _write_png(osp.join(subset_root, 'composite_images', composite_name), results['composite'])
            splits[split].append(composite_name)
            manifest['composites'].append(dict(
                composite=f'{name}/composite_images/{composite_name}', mask=f'{name}/masks/{mask_name}',
                real=f'{name}/real_images/{stem}.png', photo=photo_name, split=split, photo_index=photo_index,
                mask_index=mask_index, composite_index=k, mask_source=results['mask_source'],
                object_class=photos.object_class(photo_name), perturbation=results['perturbation']))
            done += 1
            if progress:
                progress(done, total)
    for split, composites in splits.items():
        with open(osp.join(subset_root, f'{name}_{split}.txt'), 'w') as handle:
            handle.writelines(f'{composite}\n' for composite in composites)
        _update_ihd_split(osp.join(out_root, f'IHD_{split}.txt'), name, composites)
    save_manifest(manifest, osp.join(subset_root, 'manifest.json'))
    return manifest


def _update_ihd_split(path: str, subset: str, composites: Sequence[str]) -> None:
    """Write ``subset``'s lines into a root split file, keeping the other subsets' lines (several sources can
    share one dataset root)."""
    kept = []
    if osp.isfile(path):
        with open(path, encoding='utf-8') as handle:
            kept = [line for line in handle if line.strip() and not line.startswith(f'{subset}/')]
    with open(path, 'w', encoding='utf-8') as handle:
        handle.writelines(kept)
        handle.writelines(f'{subset}/composite_images/{composite}\n' for composite in composites)


def save_manifest(manifest: dict, path: str) -> None:
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True)
        handle.write('\n')


def load_manifest(path: str) -> dict:
    """Read a manifest (version 1, which named a folder as ``photo_root``, is read as a folder collection)."""
    with open(path, encoding='utf-8') as handle:
        manifest = json.load(handle)
    if manifest.get('generator') != 'toolkit.datasets.synthesis':
        raise HarmonizationDataError(f'{path}: not a HarmonyZoo synthesis manifest')
    if 'photo_source' not in manifest and 'photo_root' in manifest:
        manifest['photo_source'] = dict(kind='folder', root=manifest.pop('photo_root'))
    return manifest


def replay_composite(manifest: dict, entry: dict, out_root: str) -> np.ndarray:
    """Rebuild one composite from its manifest entry (the real image, the mask and the recorded parameters)."""
    results = dict(gt=read_image(osp.join(out_root, entry['real'])),
                   mask=(read_mask(osp.join(out_root, entry['mask'])) > 0.5).astype(np.uint8),
                   photos=open_collection(manifest['photo_source']), photo_name=entry['photo'])
    return _build(manifest['perturbation']).replay(results, entry['perturbation'])


# ------------------------------------------------------------------------------------------- online
@DATASETS.register_module()
class SyntheticCompositeDataset(BaseDataset):
    """Triplets synthesised on the fly from a photo collection (nothing written to disk).

    Args:
        photo_root: a folder of photos (optionally with ``masks/<stem>_<k>.png``), or a collection spec
            such as ``dict(kind='lalonde-efros', root='data/iHarmony4-repo')``.
        per_image: examples per photo (``len(dataset) = photos × per_image``).
        masks_per_image: masks drawn per photo (ignored for photos with provided masks).
        seed: examples are a pure function of ``(seed, index)``: the same seed gives the same
            example at the same index (change the seed for fresh draws).
        pipeline: transforms after synthesis, e.g. ``RandomResizedCrop``, ``BinarizeMask``,
            ``PackHarmonizationInputs`` (``SynthesizeComposite`` is prepended).
        synthesis: config of the :class:`SynthesizeComposite` transform.
    """

    def __init__(self, photo_root: Union[str, dict], per_image: int = 20, masks_per_image: int = 4, seed: int = 0,
                 pipeline=(), synthesis: dict = dict(type='SynthesizeComposite'), subset: str = 'synthetic',
                 **kwargs):
        self.photo_source = _as_collection(photo_root).spec()
        self.per_image, self.masks_per_image = per_image, masks_per_image
        self.seed, self.subset = seed, subset
        with DefaultScope.overwrite_default_scope('toolkit'):
            super().__init__(ann_file='', data_root='', pipeline=[synthesis, *pipeline], **kwargs)

    def load_data_list(self) -> list[dict]:
        photos = open_collection(self.photo_source)
        data_list = []
        for photo_index, photo_name in enumerate(photos.names):
            mask_count = len(photos.mask_labels(photo_name)) or self.masks_per_image
            for k in range(self.per_image):
                data_list.append(dict(photo_source=self.photo_source, photo_name=photo_name, seed=self.seed,
                                      photo_index=photo_index, mask_index=k % mask_count, composite_index=k,
                                      subset=self.subset,
                                      name=f'{self.subset}/{osp.splitext(photo_name)[0]}_{k % mask_count + 1}_{k + 1}'))
        self._metainfo['subsets'] = (self.subset,)
        return data_list

    def cache_identity(self) -> dict:
        photos = open_collection(self.photo_source)
        digest = hashlib.sha256('\n'.join(photos.names).encode()).hexdigest()
        return dict(kind='synthetic', photo_source=self.photo_source, photos=digest, seed=self.seed)
