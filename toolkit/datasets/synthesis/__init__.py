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

One file per concept: :mod:`.masks`, :mod:`.perturbations`, :mod:`.composites` (one triplet), :mod:`.offline`
(writing and manifests) and :mod:`.dataset` (on the fly).
"""
from .composites import SynthesizeComposite, example_rng
from .dataset import SyntheticCompositeDataset
from .masks import generate_mask, visible_change
from .offline import load_manifest, make_composites, replay_composite, save_manifest, split_photos
from .perturbations import (
    DEFAULT_PERTURBATIONS,
    GainGammaExposure,
    HistogramTransfer,
    Perturbation,
    RandomPerturbation,
    RandomToneCurve,
    ReinhardTransfer,
    RetouchStyle,
    SameClassTransfer,
    SaturationHueShift,
    SmallObjectShift,
    Unchanged,
    WhiteBalanceShift,
    histogram_transfer,
    lab_statistics_transfer,
)

__all__ = ['SynthesizeComposite', 'example_rng', 'SyntheticCompositeDataset', 'generate_mask', 'visible_change',
           'load_manifest', 'make_composites', 'replay_composite', 'save_manifest', 'split_photos',
           'DEFAULT_PERTURBATIONS', 'GainGammaExposure', 'HistogramTransfer', 'Perturbation', 'RandomPerturbation',
           'RandomToneCurve', 'ReinhardTransfer', 'RetouchStyle', 'SameClassTransfer', 'SaturationHueShift',
           'WhiteBalanceShift', 'SmallObjectShift', 'Unchanged', 'histogram_transfer', 'lab_statistics_transfer']
