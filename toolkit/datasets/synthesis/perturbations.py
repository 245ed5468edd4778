"""The perturbations that turn a real photo's region into a composite's foreground, each a registered transform
with ``sample(rng, results) -> params`` and ``apply(image, params, results) -> image`` (so a manifest entry replays
exactly), and :class:`RandomPerturbation`, which picks one per composite and re-draws until the foreground changed
enough (and not too much). The colour-transfer arithmetic is the non-learned harmonizers' (:mod:`toolkit.ops`).
"""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmengine.registry import DefaultScope

from toolkit.ops import match_cumulative_cdf
from toolkit.ops.color_transfer import lab_statistics, transfer_lab_statistics
from toolkit.registry import TRANSFORMS

from ..io import HarmonizationDataError
from ..transforms.processing import shift_saturation_hue
from .masks import visible_change


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


def lab_statistics_transfer(image: np.ndarray, foreground: np.ndarray, reference: np.ndarray,
                            reference_region: Optional[np.ndarray], strength: float) -> np.ndarray:
    """Reinhard et al.: give the ``foreground`` pixels of ``image`` the Lab mean/std of ``reference`` (``(h, w, 3)``
    uint8) over ``reference_region`` (bool, ``None`` = the whole photo), blended by ``strength`` in [0, 1].

    The arithmetic is :func:`toolkit.ops.transfer_lab_statistics`, the Reinhard harmonizer's; the whole image is
    mapped (callers paste the foreground).
    """
    def batch(array: np.ndarray):
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))[None].double()

    region = None if reference_region is None else torch.from_numpy(reference_region)[None, None].double()
    target_mean, target_std = lab_statistics(batch(reference), region)
    mapped = transfer_lab_statistics(batch(image), torch.from_numpy(foreground)[None, None].double(), target_mean,
                                     target_std, strength)
    return _clip_uint8(mapped[0].permute(1, 2, 0).numpy())


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
        return lab_statistics_transfer(image, results['mask'].astype(bool), reference, None, params['strength'])


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
        return shift_saturation_hue(image, params['saturation'], params['hue'])


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
        return lab_statistics_transfer(image, foreground, reference, region, params['strength'])


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


@TRANSFORMS.register_module()
class Unchanged(Perturbation):
    """No change: the composite is the real image. Training pairs like this teach a harmonizer to leave a composite
    alone when its foreground already fits (real composites often do; a model that always moves colours damages
    them). :class:`RandomPerturbation` accepts it with a change of exactly 0."""

    change_bounds = (0.0, 0.0)

    def sample(self, rng, results):
        return {}

    def apply(self, image, params, results):
        return image.copy()


@TRANSFORMS.register_module()
class SmallObjectShift(Perturbation):
    """A strong exposure and white-balance shift of a small object (a subject shot in other light): ±``exposure``
    stops and per-channel gains, only when the foreground covers at most ``max_area`` of the photo (otherwise the
    foreground is left as it is, so :class:`RandomPerturbation` draws another perturbation)."""

    def __init__(self, exposure=(1.0, 2.0), gain=(0.6, 1.5), max_area: float = 0.1):
        self.exposure, self.gain, self.max_area = exposure, gain, max_area

    def sample(self, rng, results):
        small = float(np.mean(results['mask'])) <= self.max_area
        stops = float(rng.uniform(*self.exposure)) * (1.0 if rng.random() < 0.5 else -1.0)
        return dict(small=small, exposure=stops, gain=rng.uniform(*self.gain, size=3).tolist())

    def apply(self, image, params, results):
        if not params['small']:
            return image.copy()
        scaled = image.astype(np.float64) * np.array(params['gain']) * 2.0 ** params['exposure']
        return _clip_uint8(np.clip(scaled, 0, 255))


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
        change_bounds: per perturbation, ``(min_change, max_change)`` replacing the two above (``None``: those);
            e.g. ``(1, 6)`` for a mild version of a perturbation. A perturbation may also carry its own
            ``change_bounds`` (:class:`Unchanged`: exactly 0).
    """

    def __init__(self, perturbations: Sequence = DEFAULT_PERTURBATIONS, weights: Optional[Sequence[float]] = None,
                 min_change: float = 6.0, max_change: Optional[float] = None, max_tries: int = 20,
                 change_bounds: Optional[Sequence[Optional[Sequence[float]]]] = None):
        self.perturbations = [_build(cfg) for cfg in perturbations]
        if change_bounds is not None and len(change_bounds) != len(self.perturbations):
            raise ValueError(f'change_bounds needs one entry per perturbation ({len(self.perturbations)}); got '
                             f'{len(change_bounds)}')
        self.change_bounds = [
            tuple(bounds) if bounds is not None else getattr(perturbation, 'change_bounds', (min_change, max_change))
            for perturbation, bounds in zip(self.perturbations, change_bounds or [None] * len(self.perturbations))]
        weights = np.ones(len(self.perturbations)) if weights is None else np.asarray(weights, dtype=np.float64)
        self.weights = weights / weights.sum()
        self.min_change, self.max_change, self.max_tries = min_change, max_change, max_tries
        self.by_name = {type(p).__name__: p for p in self.perturbations}

    def transform(self, results: dict) -> dict:
        rng = results['rng']
        for attempt in range(self.max_tries):
            index = int(rng.choice(len(self.perturbations), p=self.weights))
            chosen = self.perturbations[index]
            low, high = self.change_bounds[index]
            chosen.transform(results)
            change = visible_change(results['gt'], results['composite'], results['mask'])
            if change >= low and (high is None or change <= high):
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
