"""The real dev set: iHarmony4 test triplets that published code ships in its example folders, for choosing
recipes, checkpoints and the default model — never for training, never redistributed.

Why: a synthetic split alone cannot choose (a fine-tune that lowered the built test split's fMSE raised the
error on unseen real triplets), and choosing on the triplets the results are reported on is selection on the
evaluation set. These triplets are real composites (iHarmony4's test images: iHarmony4's terms apply), so they
predict real behaviour, and they are none of the evaluation data (``data/samples``, ``../shared/data/triplets``).

Rules (docs/zoo.md):

* sources are read from a git repository at a **pinned commit** (:data:`REAL_DEV_SOURCES`), every file
  recorded with its sha256 in ``manifest.json``;
* **reserved** for an independent check and never used in any way: any triplet whose real image is one of
  :data:`RESERVED_REAL_IMAGES`, and the repository ``vinthony/S2CRNet-demos`` (refused as a source);
* a composite that two sources ship is taken once (the first source's), and the subset comes from the name
  (``a…`` HAdobe5k, ``f…`` HFlickr, ``d…`` Hday2night, ``c…`` HCOCO).

The result is an iHarmony4-layout folder (``<Subset>/{composite_images,masks,real_images}``,
``<Subset>_test.txt``, ``IHD_test.txt``) that every tool here reads (``tools/benchmark.py --data-root``,
``tools/full_res_eval.py``).
"""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import subprocess
from dataclasses import dataclass
from typing import Mapping, Sequence

from .io import HarmonizationDataError

#: real images kept for an independent check: never in a dev, train or any other set
RESERVED_REAL_IMAGES = frozenset({'a0041', 'a0196', 'a1796', 'a3163', 'a3815', 'f1380', 'f1521', 'f1566', 'f2232',
                                  'f4297'})
#: repositories never used in any way
RESERVED_REPOSITORIES = frozenset({'vinthony/S2CRNet-demos'})
#: subset of an iHarmony4 image by the first letter of its name
SUBSET_BY_PREFIX = {'a': 'HAdobe5k', 'f': 'HFlickr', 'd': 'Hday2night', 'c': 'HCOCO'}


@dataclass(frozen=True)
class DevSource:
    """A folder of iHarmony4 test triplets in a public repository, at a pinned commit (no licence file of its
    own: the images are iHarmony4's, whose terms apply)."""
    repo: str
    commit: str
    composites: str
    masks: str
    reals: str


REAL_DEV_SOURCES = (
    DevSource('1960675737/MFCM-for-Image-Harmonization', 'fb29373a553af88f96e21355a1e537e6fe43241b',
              'images/composite_images', 'images/masks', 'images/real_images'),
    DevSource('guanguanboy/HCDM', '59c5be0a5389382493ccc8fa525caad971b86111',
              'TestData/Hday2night/composite_images_test', 'TestData/Hday2night/masks',
              'TestData/Hday2night/real_images'),
)


def split_composite_name(name: str) -> tuple[str, str]:
    """``a0065_1_2.jpg`` → ``('a0065', 'a0065_1')``: the real image's stem and the mask's stem.

    Example:
        >>> split_composite_name('d17664-20120114-145839_1_4.jpg')
        ('d17664-20120114-145839', 'd17664-20120114-145839_1')
    """
    stem = osp.splitext(osp.basename(name))[0]
    parts = stem.rsplit('_', 2)
    if len(parts) != 3:
        raise HarmonizationDataError(f'{name}: not an iHarmony4 composite name (<real>_<object>_<variant>)')
    return parts[0], f'{parts[0]}_{parts[1]}'


def is_reserved(name: str) -> bool:
    """Whether a composite, mask or real image belongs to a reserved triplet."""
    return osp.splitext(osp.basename(name))[0].split('_')[0] in RESERVED_REAL_IMAGES


def _git(repository: str, *args: str) -> bytes:
    result = subprocess.run(['git', '-C', repository, *args], capture_output=True)
    if result.returncode:
        raise HarmonizationDataError(f'{repository}: git {" ".join(args[:2])} failed: '
                                     f'{result.stderr.decode(errors="replace").strip().splitlines()[-1:]}')
    return result.stdout


def _listing(repository: str, commit: str, folder: str) -> dict[str, str]:
    """``file name → blob id`` of the files directly in ``folder`` at ``commit``."""
    entries = {}
    for line in _git(repository, 'ls-tree', commit, folder.rstrip('/') + '/').decode().splitlines():
        meta, _, path = line.partition('\t')
        if meta.split()[1] == 'blob':
            entries[osp.basename(path)] = meta.split()[2]
    return entries


def build_real_dev_set(out_root: str, repositories: Mapping[str, str],
                       sources: Sequence[DevSource] = REAL_DEV_SOURCES) -> dict:
    """Write the real dev set under ``out_root`` from local git repositories (a clone or a bare mirror each).

    Args:
        repositories: ``{'owner/name': local git directory}`` for every source in ``sources``.

    Returns:
        The manifest (also written to ``out_root/manifest.json``): sources, triplets per subset, the reserved
        triplets left out, and every file's sha256.

    Raises:
        HarmonizationDataError: a reserved repository, a missing repository or commit, a composite without its
            mask or real image, or an existing ``out_root`` that is not a dev set of these sources.
    """
    for source in sources:
        if source.repo in RESERVED_REPOSITORIES:
            raise HarmonizationDataError(f'{source.repo}: reserved for an independent check; never a source')
        if source.repo not in repositories:
            raise HarmonizationDataError(f'{source.repo}: give a local git copy (--repo {source.repo}=PATH)')
        _git(repositories[source.repo], 'cat-file', '-e', f'{source.commit}^{{commit}}')
    manifest = dict(name='real-dev', use='selection only (dev set): never train on it, never redistribute it',
                    sources=[], triplets=[], left_out_reserved=[], duplicates=[])
    written = {}
    for source in sources:
        repository = repositories[source.repo]
        composites = _listing(repository, source.commit, source.composites)
        masks = _listing(repository, source.commit, source.masks)
        reals = _listing(repository, source.commit, source.reals)
        taken = 0
        for name in sorted(composites):
            if not name.lower().endswith(('.jpg', '.jpeg', '.png')):
                continue
            real_stem, mask_stem = split_composite_name(name)
            if is_reserved(name):
                manifest['left_out_reserved'].append(f'{source.repo}:{name}')
                continue
            if name in written:
                manifest['duplicates'].append(f'{source.repo}:{name} (taken from {written[name]})')
                continue
            mask = next((f for f in masks if osp.splitext(f)[0] == mask_stem), None)
            real = next((f for f in reals if osp.splitext(f)[0] == real_stem), None)
            if mask is None or real is None:
                raise HarmonizationDataError(f'{source.repo}@{source.commit[:7]}: {name} has no '
                                             f'{"mask" if mask is None else "real image"}')
            subset = SUBSET_BY_PREFIX.get(name[0])
            if subset is None:
                raise HarmonizationDataError(f'{name}: no iHarmony4 subset starts with {name[0]!r}')
            files = {}
            for kind, folder, file_name, listing in (('composite', source.composites, name, composites),
                                                     ('mask', source.masks, mask, masks),
                                                     ('real', source.reals, real, reals)):
                target_folder = osp.join(out_root, subset, {'composite': 'composite_images', 'mask': 'masks',
                                                             'real': 'real_images'}[kind])
                os.makedirs(target_folder, exist_ok=True)
                data = _git(repository, 'cat-file', 'blob', listing[file_name])
                target = osp.join(target_folder, file_name)
                if not osp.isfile(target) or open(target, 'rb').read() != data:
                    with open(target, 'wb') as handle:
                        handle.write(data)
                files[kind] = dict(path=osp.relpath(target, out_root), sha256=hashlib.sha256(data).hexdigest(),
                                   source=f'{folder}/{file_name}')
            manifest['triplets'].append(dict(subset=subset, composite=f'{subset}/composite_images/{name}',
                                             repo=source.repo, commit=source.commit, files=files))
            written[name] = source.repo
            taken += 1
        manifest['sources'].append(dict(repo=source.repo, commit=source.commit, triplets=taken,
                                        licence='none in the repository: iHarmony4 test images, iHarmony4 terms'))
    by_subset: dict[str, list[str]] = {}
    for triplet in manifest['triplets']:
        by_subset.setdefault(triplet['subset'], []).append(triplet['composite'])
    for subset, names in by_subset.items():
        with open(osp.join(out_root, subset, f'{subset}_test.txt'), 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(osp.basename(name) for name in sorted(names)) + '\n')
    with open(osp.join(out_root, 'IHD_test.txt'), 'w', encoding='utf-8') as handle:
        handle.write('\n'.join(sorted(name for names in by_subset.values() for name in names)) + '\n')
    manifest['subsets'] = {subset: len(names) for subset, names in sorted(by_subset.items())}
    with open(osp.join(out_root, 'manifest.json'), 'w', encoding='utf-8') as handle:
        json.dump(manifest, handle, indent=1)
    return manifest


def check_no_overlap(dev_root: str, evaluation_roots: Sequence[str]) -> list[str]:
    """Composite names that the dev set shares with evaluation data (must be empty), by name and by content."""
    def files(root: str) -> dict[str, str]:
        found = {}
        for folder, _, names in os.walk(root):
            for name in names:
                if name.lower().endswith(('.jpg', '.jpeg', '.png')) and 'composite' in folder:
                    with open(osp.join(folder, name), 'rb') as handle:
                        found[name] = hashlib.sha256(handle.read()).hexdigest()
        return found
    dev = files(dev_root)
    shared = []
    for root in evaluation_roots:
        if not osp.isdir(root):
            continue
        other = files(root)
        digests = set(other.values())
        shared += [name for name, digest in dev.items() if name in other or digest in digests]
    return sorted(set(shared))
