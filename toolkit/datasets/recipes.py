"""Named recipes for training sets built from real photos (``tools/build_dataset.py NAME OUT``).

A recipe says where the photos come from (a :class:`~toolkit.datasets.photos.PhotoCollection`), how
many composites each photo gives, which perturbations make them and how the photos are split. The
result is an iHarmony4-layout dataset with a manifest that replays every composite.

* ``lalonde-efros``: the 1,999 real LabelMe photos of Lalonde & Efros with their annotated object
  masks and classes (fetched from the iHarmony4 repository at a pinned commit, or read from a local
  copy); composites made as iHarmony4 made them: colour transfer from an object of the same class in
  another photo (HCOCO), photographer-style global retouches (HAdobe5k) and the six generic
  perturbations.
* ``lalonde-efros-matched``: the same photos with :data:`MATCHED_PERTURBATION` (unchanged pairs, mild changes,
  strong shifts of small objects) besides the same-class transfer.
* ``bsds500``: the Berkeley Segmentation Data Set's train and test photos with the object segments of their
  human segmentations (BIDS/BSDS500 at a pinned commit, a local clone); :data:`MATCHED_PERTURBATION`.
* ``bsds500-dev``: BSDS500's val photos, in no training set: a synthetic **dev** split for choosing recipes
  and checkpoints (every composite in its test split; the generic perturbations, as first scored).
* ``folder``: any folder of photos, masks generated (GrabCut / blobs) unless given.
"""
from __future__ import annotations

import copy
import os.path as osp
from typing import Callable, Optional

from .bsds500 import COMMIT as BSDS500_COMMIT
from .bsds500 import REPOSITORY as BSDS500_REPOSITORY
from .bsds500 import BSDS500Photos
from .io import HarmonizationDataError
from .lalonde_efros import CHECKSUMS, COMMIT, REPOSITORY, LalondeEfrosPhotos, fetch_lalonde_efros
from .photos import FolderPhotos
from .synthesis import make_composites

#: iHarmony4's recipes first, the six generic perturbations after, with the weights below. Exposure reaches
#: ±1.5 stops: real composites often paste a foreground shot in other light (a bright subject into a dim room)
LALONDE_EFROS_PERTURBATION = dict(
    type='RandomPerturbation',
    perturbations=[dict(type='SameClassTransfer'), dict(type='RetouchStyle', exposure=(-1.5, 1.5)),
                   dict(type='ReinhardTransfer'), dict(type='HistogramTransfer'),
                   dict(type='GainGammaExposure', exposure=(-1.2, 1.2)), dict(type='WhiteBalanceShift'),
                   dict(type='SaturationHueShift'), dict(type='RandomToneCurve')],
    weights=[4, 4, 1, 1, 2, 1, 1, 1],
    # mean absolute foreground change on 0–255: from barely visible to a different exposure
    min_change=4.0, max_change=110.0)

#: the same mix for photos without classes (no same-class transfer)
FOLDER_PERTURBATION = dict(LALONDE_EFROS_PERTURBATION, perturbations=LALONDE_EFROS_PERTURBATION['perturbations'][1:],
                           weights=LALONDE_EFROS_PERTURBATION['weights'][1:])

#: the distribution the job needs: real composites are often already close (a harmonizer must leave them alone)
#: or far off in exposure on a small object (it must move far). So: unchanged pairs (composite = real, ~16 %), mild
#: changes of 1–6 levels (~16 %), strong exposure/white-balance shifts of objects covering ≤ 10 % of the photo, and
#: the usual perturbations with HAdobe5k-like retouches weighted up
MATCHED_PERTURBATION = dict(
    type='RandomPerturbation',
    perturbations=[dict(type='Unchanged'),
                   dict(type='GainGammaExposure', gain=(0.93, 1.07), gamma=(0.92, 1.08), exposure=(-0.25, 0.25)),
                   dict(type='SmallObjectShift'), dict(type='RetouchStyle', exposure=(-1.5, 1.5)),
                   dict(type='ReinhardTransfer'), dict(type='HistogramTransfer'),
                   dict(type='GainGammaExposure', exposure=(-1.2, 1.2)), dict(type='WhiteBalanceShift'),
                   dict(type='SaturationHueShift'), dict(type='RandomToneCurve')],
    weights=[3, 3, 2, 4, 1, 1, 2, 1, 1, 1],
    change_bounds=[None, (1.0, 6.0), None, None, None, None, None, None, None, None],
    min_change=4.0, max_change=110.0)

#: LabelMe stuff regions whose colour legitimately differs from the rest of the photo (a sky is brighter than
#: the ground): as foregrounds they teach a harmonizer to leave mismatches alone
STUFF_CLASSES = ('sky', 'road', 'water', 'field', 'sand', 'snow')

DATASET_RECIPES = {
    'lalonde-efros': dict(
        collection='lalonde-efros', name='LalondeEfros', per_image=5, masks_per_image=1, test_fraction=0.1, seed=0,
        exclude_classes=STUFF_CLASSES,
        perturbation=LALONDE_EFROS_PERTURBATION,
        source=f'github.com/{REPOSITORY}@{COMMIT}, folder "Lalonde and Efros/onlineDb" (real photos only)'),
    'lalonde-efros-matched': dict(
        collection='lalonde-efros', name='LalondeEfrosMatched', per_image=5, masks_per_image=1, test_fraction=0.1,
        seed=0, exclude_classes=STUFF_CLASSES,
        perturbation=dict(MATCHED_PERTURBATION,
                          perturbations=[dict(type='SameClassTransfer'), *MATCHED_PERTURBATION['perturbations']],
                          weights=[4, *MATCHED_PERTURBATION['weights']],
                          change_bounds=[None, *MATCHED_PERTURBATION['change_bounds']]),
        source=f'github.com/{REPOSITORY}@{COMMIT}, folder "Lalonde and Efros/onlineDb" (real photos only)'),
    'bsds500': dict(
        collection='bsds500', splits=('train', 'test'), name='BSDS500', per_image=4, masks_per_image=2,
        test_fraction=0.1, seed=0, exclude_classes=(), perturbation=MATCHED_PERTURBATION,
        source=f'github.com/{BSDS500_REPOSITORY}@{BSDS500_COMMIT}, BSDS500/data (train and test photos)'),
    'bsds500-dev': dict(
        collection='bsds500', splits=('val',), name='BSDS500dev', per_image=4, masks_per_image=2,
        test_fraction=1.0, seed=0, exclude_classes=(), perturbation=FOLDER_PERTURBATION,
        source=f'github.com/{BSDS500_REPOSITORY}@{BSDS500_COMMIT}, BSDS500/data/images/val (dev split only)'),
    'folder': dict(
        collection='folder', name=None, per_image=20, masks_per_image=4, test_fraction=0.2, seed=0, exclude_classes=(),
        perturbation=FOLDER_PERTURBATION, source='a folder of photos (--source)'),
}


def open_recipe_collection(recipe: str, source: Optional[str], cache_dir: Optional[str] = None,
                           classes=None, exclude_classes=None, checksums: Optional[str] = CHECKSUMS):
    """The photo collection of a recipe: a local ``source`` folder, or (``lalonde-efros``) a fetched copy."""
    settings = DATASET_RECIPES[recipe]
    kind = settings['collection']
    if kind == 'folder':
        if not source:
            raise HarmonizationDataError('the folder recipe needs --source PHOTO_FOLDER')
        return FolderPhotos(source)
    if kind == 'bsds500':
        if not source:
            raise HarmonizationDataError(f'the {recipe} recipe needs --source: a clone of '
                                         f'{BSDS500_REPOSITORY} at {BSDS500_COMMIT[:7]}')
        return BSDS500Photos(source, splits=settings['splits'])
    if source is None:
        cache_dir = cache_dir or osp.join(osp.expanduser('~'), '.cache', 'harmonyzoo', 'datasets')
        source = fetch_lalonde_efros(cache_dir)
    excluded = settings['exclude_classes'] if exclude_classes is None else exclude_classes
    return LalondeEfrosPhotos(source, classes=classes, exclude_classes=excluded, checksums=checksums)


def build_training_set(recipe: str, out_root: str, source: Optional[str] = None, cache_dir: Optional[str] = None,
                       classes=None, exclude_classes=None, checksums: Optional[str] = CHECKSUMS,
                       progress: Optional[Callable[[int, int], None]] = None, **overrides) -> dict:
    """Build a recipe's dataset under ``out_root``; ``overrides`` replace recipe fields (``seed``, ``per_image``,
    ``test_fraction``, ``name``, ``min_change``/``max_change`` of the perturbation). ``checksums`` is the sha256
    list the photos must match (default: the one shipped for the pinned commit; ``None`` reads a copy unchecked).
    Returns the manifest.

    Raises:
        HarmonizationDataError: unknown recipe, missing or damaged source files (the message names them).
    """
    if recipe not in DATASET_RECIPES:
        raise HarmonizationDataError(f'unknown dataset {recipe!r}; known: {", ".join(sorted(DATASET_RECIPES))} '
                                     '(or a folder of photos)')
    settings = copy.deepcopy(DATASET_RECIPES[recipe])
    perturbation = settings['perturbation']
    for key in ('min_change', 'max_change'):
        if overrides.get(key) is not None:
            perturbation[key] = overrides.pop(key)
        overrides.pop(key, None)
    settings.update({key: value for key, value in overrides.items() if value is not None})
    photos = open_recipe_collection(recipe, source, cache_dir, classes, exclude_classes, checksums)
    manifest = make_composites(photos, out_root, per_image=settings['per_image'],
                               masks_per_image=settings['masks_per_image'], seed=settings['seed'],
                               name=settings['name'], test_fraction=settings['test_fraction'],
                               perturbation=perturbation, progress=progress,
                               metadata=dict(recipe=recipe, source=settings['source'],
                                             skipped_photos=dict(getattr(photos, 'skipped', {}))))
    return manifest
