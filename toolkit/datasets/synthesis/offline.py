"""Writing synthetic composites to disk (``tools/make_composites.py``): an iHarmony4-layout dataset split by photo,
with a JSON manifest from which every composite can be replayed exactly.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Callable, Optional, Sequence, Union

import cv2
import numpy as np

from ..io import HarmonizationDataError, read_image, read_mask
from ..photos import PhotoCollection, open_collection
from .composites import SynthesizeComposite, _as_collection
from .perturbations import _build


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
                    perturbation: Optional[dict] = None, metadata: Optional[dict] = None,
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
    perturbation = dict(type='RandomPerturbation') if perturbation is None else perturbation
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
