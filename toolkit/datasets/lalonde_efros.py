"""The Lalonde & Efros photo database: real outdoor photos with a LabelMe object mask and class each.

Lalonde & Efros ("Using Color Compatibility for Assessing Image Realism", ICCV 2007) released
256×256 LabelMe photos with one annotated object each, together with composites made from them. The
iHarmony4 repository keeps a copy (``Lalonde and Efros/onlineDb/``):

* ``Images/image_NNNNNN.jpg`` — 3,808 images, 256×256;
* ``Annotation/image_NNNNNN.xml`` — LabelMe-style; ``<generated>0</generated>`` marks the 1,999 real
  photos (``1``: a composite, never used here), ``<object><name>`` / ``<keyword>`` the object class;
* ``Annotation/masks/image_NNNNNN.mat`` — ``objMask`` and ``bgMask``, uint8 {0, 1}.

Only the real photos are read. Many annotations are *stuff* (sky, road, field) and some are crude
rectangles; :class:`LalondeEfrosPhotos` filters masks by area and by how much of their bounding box
they fill, and can keep a subset of classes.

The images are not redistributed by HarmonyZoo: :func:`fetch_lalonde_efros` makes a sparse, partial
git clone of the pinned commit (git checks every object against the commit), and the collection
checks each file it reads against the sha256 list shipped with the package
(``toolkit/datasets/data/lalonde_efros_onlinedb.sha256.gz``). Licences: the repository's code is MIT;
the photos come from LabelMe (research use) — see docs/datasets.md.

The checksum list holds one sha256 per real photo, over its three files (image, annotation, mask),
each prefixed by its length: 1,999 lines instead of one per file.
"""
from __future__ import annotations

import gzip
import hashlib
import os
import os.path as osp
import shutil
import subprocess
import xml.etree.ElementTree as ElementTree
from collections import Counter
from typing import Optional, Sequence

import numpy as np

from .io import HarmonizationDataError, read_image
from .photos import PhotoCollection, register_collection

REPOSITORY = 'bcmi/Image-Harmonization-Dataset-iHarmony4'
REPOSITORY_URL = f'https://github.com/{REPOSITORY}.git'
COMMIT = '0bdb51ddda979f5a38536d80c161fa5733480f25'
FOLDER = 'Lalonde and Efros/onlineDb'
CHECKSUMS = osp.join(osp.dirname(__file__), 'data', 'lalonde_efros_onlinedb.sha256.gz')

#: classes of countable things; the rest of the database is mostly stuff (sky, road, water, field, …)
OBJECT_CLASSES = ('building', 'car', 'person', 'house', 'flower', 'motorcycle', 'horse', 'truck', 'tree', 'plant',
                  'bush', 'rock')


def find_online_db(path: str) -> str:
    """The ``onlineDb`` folder inside a clone/snapshot of the repository (or ``path`` itself)."""
    for candidate in (path, osp.join(path, FOLDER)):
        if osp.isdir(osp.join(candidate, 'Images')) and osp.isdir(osp.join(candidate, 'Annotation')):
            return osp.abspath(candidate)
    raise HarmonizationDataError(
        f'{path}: not a copy of {REPOSITORY} (no "{FOLDER}/Images" and "{FOLDER}/Annotation" inside); '
        f'clone it at commit {COMMIT} or let tools/build_dataset.py fetch it')


def read_annotation(path: str) -> dict:
    """One LabelMe XML → ``dict(image, generated, name, keyword, mask)``.

    The files hold several top-level elements (``<image>``, ``<file>``, ``<object>``, …), so they are
    parsed inside a wrapper element.
    """
    try:
        with open(path, encoding='utf-8', errors='replace') as handle:
            root = ElementTree.fromstring(f'<annotation>{handle.read()}</annotation>')
    except (OSError, ElementTree.ParseError) as error:
        raise HarmonizationDataError(f'{path}: unreadable annotation ({error})') from error

    def text(element_path: str) -> Optional[str]:
        element = root.find(element_path)
        return element.text.strip() if element is not None and element.text else None

    generated = text('image/generated')
    if generated not in ('0', '1'):
        raise HarmonizationDataError(f'{path}: <generated> must be 0 or 1; got {generated!r}')
    return dict(image=text('image/filename'), generated=generated == '1', name=text('object/name'),
                keyword=text('object/keyword'), mask=text('object/masks/filename'))


def photo_files(stem: str) -> tuple[str, str, str]:
    """The files of one photo, relative to ``onlineDb``: image, annotation, object mask."""
    return f'Images/{stem}.jpg', f'Annotation/{stem}.xml', f'Annotation/masks/{stem}.mat'


def photo_digest(online_db: str, stem: str) -> str:
    """sha256 over the photo's three files, each prefixed by its length in bytes."""
    digest = hashlib.sha256()
    for relative in photo_files(stem):
        with open(osp.join(online_db, relative), 'rb') as handle:
            content = handle.read()
        digest.update(len(content).to_bytes(8, 'little'))
        digest.update(content)
    return digest.hexdigest()


def load_checksums(path: str = CHECKSUMS) -> dict[str, str]:
    """``photo stem → sha256`` from a (gzipped) ``sha256sum``-style list."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'rt', encoding='utf-8') as handle:
        return {stem: digest for digest, stem in (line.rstrip('\n').split('  ', 1) for line in handle if line.strip())}


def write_checksums(online_db: str, stems: Sequence[str], path: str) -> None:
    """Write the per-photo digests of ``stems`` — how :data:`CHECKSUMS` was made (from the real photos)."""
    opener = gzip.open if path.endswith('.gz') else open
    with opener(path, 'wt', encoding='utf-8') as handle:
        for stem in sorted(stems):
            handle.write(f'{photo_digest(online_db, stem)}  {stem}\n')


def _read_object_mask(path: str) -> np.ndarray:
    from scipy.io import loadmat
    try:
        content = loadmat(path)
    except Exception as error:  # scipy raises several types for a damaged file
        raise HarmonizationDataError(f'{path}: unreadable .mat file ({error})') from error
    if 'objMask' not in content:
        raise HarmonizationDataError(f'{path}: no objMask variable')
    mask = np.asarray(content['objMask'])
    if mask.ndim != 2 or not set(np.unique(mask).tolist()) <= {0, 1}:
        raise HarmonizationDataError(f'{path}: objMask must be a 2-D {{0, 1}} array; got {mask.shape} {mask.dtype}')
    return mask.astype(np.uint8)


def box_fill(mask: np.ndarray) -> float:
    """Area of the mask divided by the area of its bounding box (1.0 = a filled rectangle).

    Example:
        >>> mask = np.zeros((10, 10), np.uint8); mask[2:6, 3:8] = 1
        >>> box_fill(mask), box_fill(np.tril(np.ones((4, 4), np.uint8)))
        (1.0, 0.625)
    """
    rows, cols = np.nonzero(mask)
    if not rows.size:
        return 0.0
    return float(rows.size / ((rows.max() - rows.min() + 1) * (cols.max() - cols.min() + 1)))


@register_collection
class LalondeEfrosPhotos(PhotoCollection):
    """The real photos of the Lalonde & Efros database with their object masks and classes.

    Args:
        root: a clone or snapshot of the iHarmony4 repository, or its ``onlineDb`` folder.
        area_range: keep masks covering this fraction of the image.
        max_box_fill: drop masks that fill more of their bounding box than this (crude rectangles).
        classes: keep only these classes (``<keyword>``, else ``<name>``, lower case); ``None`` = all.
        exclude_classes: leave these classes out.
        checksums: a sha256 list (default: the one shipped for commit :data:`COMMIT`); every file read
            are checked against it when the collection opens. ``None`` skips the check (a fixture, or
            another commit).

    Attributes:
        skipped: ``Counter`` of why photos were left out (``composite``, ``area``, ``rectangle``, ``class``).
    """

    kind = 'lalonde-efros'

    def __init__(self, root: str, area_range: Sequence[float] = (0.02, 0.7), max_box_fill: float = 0.95,
                 classes: Optional[Sequence[str]] = None, exclude_classes: Sequence[str] = (),
                 checksums: Optional[str] = CHECKSUMS, **kwargs):
        online_db = find_online_db(root)
        super().__init__(online_db, **kwargs)
        self.area_range, self.max_box_fill = tuple(area_range), float(max_box_fill)
        self.class_filter = tuple(sorted(c.lower() for c in classes)) if classes else None
        self.excluded = tuple(sorted(c.lower() for c in exclude_classes))
        self._checksums = load_checksums(checksums) if checksums else None
        self._classes: dict[str, str] = {}
        self._masks: dict[str, np.ndarray] = {}
        self.skipped: Counter = Counter()
        annotation_folder = osp.join(online_db, 'Annotation')
        if self._checksums is not None:  # the list names the real photos: read only those
            stems = sorted(self._checksums)
        else:
            stems = sorted(osp.splitext(entry)[0] for entry in os.listdir(annotation_folder) if entry.endswith('.xml'))
        names = []
        for stem in stems:
            image_relative, xml_relative, mask_relative = photo_files(stem)
            self._verify(stem)
            annotation = read_annotation(osp.join(online_db, xml_relative))
            if annotation['generated']:
                self.skipped['composite'] += 1
                continue
            label = (annotation['keyword'] or annotation['name'] or '').lower()
            if (self.class_filter is not None and label not in self.class_filter) or label in self.excluded:
                self.skipped['class'] += 1
                continue
            mask = _read_object_mask(osp.join(online_db, mask_relative))
            if not self.area_range[0] <= mask.mean() <= self.area_range[1]:
                self.skipped['area'] += 1
                continue
            if box_fill(mask) > self.max_box_fill:
                self.skipped['rectangle'] += 1
                continue
            image_name = osp.basename(image_relative)
            self._classes[image_name] = label
            self._masks[image_name] = mask
            names.append(image_name)
        if not names:
            raise HarmonizationDataError(f'{online_db}: no real photo passes the filters ({dict(self.skipped)})')
        self.names = tuple(names)

    def _verify(self, stem: str) -> None:
        files = [osp.join(self.root, relative) for relative in photo_files(stem)]
        missing = [path for path in files if not osp.isfile(path)]
        if missing:
            raise HarmonizationDataError(f'{missing[0]}: file does not exist (photo {stem} needs '
                                         f'{", ".join(photo_files(stem))})')
        if self._checksums is not None and photo_digest(self.root, stem) != self._checksums[stem]:
            raise HarmonizationDataError(
                f'{files[0]}: photo {stem} ({", ".join(photo_files(stem))}) differs from {REPOSITORY}@{COMMIT[:12]} '
                '(damaged or modified copy, or another commit); fetch it again, or pass checksums=None to read '
                'another copy unchecked')

    def _read_image(self, name: str) -> np.ndarray:
        path = osp.join(self.root, 'Images', name)
        image = read_image(path)
        if image.shape[:2] != self._masks[name].shape:
            raise HarmonizationDataError(f'{path}: size {image.shape[1]}x{image.shape[0]} differs from its mask '
                                         f'({self._masks[name].shape[1]}x{self._masks[name].shape[0]})')
        return image

    def mask_labels(self, name: str) -> list[str]:
        return [f'objMask:{osp.splitext(name)[0]}.mat']

    def _read_mask(self, name: str, index: int) -> np.ndarray:
        if index != 0:
            raise IndexError(f'{name} has one object mask; got index {index}')
        return self._masks[name].copy()

    def object_class(self, name: str) -> Optional[str]:
        return self._classes[name]

    def options(self) -> dict:
        return dict(area_range=list(self.area_range), max_box_fill=self.max_box_fill,
                    classes=list(self.class_filter) if self.class_filter else None, exclude_classes=list(self.excluded),
                    checksums=None)  # a replay reads what the build verified


def _git(*args: str, cwd: Optional[str] = None) -> str:
    if shutil.which('git') is None:
        raise HarmonizationDataError('git is not installed: install it, or clone '
                                     f'{REPOSITORY_URL} yourself and pass the folder with --source')
    result = subprocess.run(['git', *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode:
        message = ' '.join((result.stderr or result.stdout).split())
        raise HarmonizationDataError(f'git {args[0]} failed: {message}')
    return result.stdout.strip()


def fetch_lalonde_efros(cache_dir: str, url: str = REPOSITORY_URL, commit: str = COMMIT) -> str:
    """Get ``onlineDb`` at ``commit`` into ``cache_dir`` (a sparse, blob-filtered git clone); returns its path.

    Only the ``onlineDb`` folder's files are downloaded. A finished checkout at the right commit is
    reused; an interrupted one is resumed by git.
    """
    target = osp.join(cache_dir, f'{REPOSITORY.replace("/", "+")}@{commit[:12]}')
    online_db = osp.join(target, FOLDER)
    if osp.isdir(osp.join(target, '.git')):
        try:
            if _git('rev-parse', 'HEAD', cwd=target) == commit and osp.isdir(online_db):
                return online_db
        except HarmonizationDataError:
            pass  # no commit checked out yet: continue below
    os.makedirs(target, exist_ok=True)
    if not osp.isdir(osp.join(target, '.git')):
        _git('init', '--quiet', cwd=target)
        _git('remote', 'add', 'origin', url, cwd=target)
    _git('sparse-checkout', 'set', '--no-cone', f'/{FOLDER}/', cwd=target)
    _git('fetch', '--quiet', '--depth', '1', '--filter=blob:none', 'origin', commit, cwd=target)
    _git('checkout', '--quiet', commit, cwd=target)
    if not osp.isdir(online_db):
        raise HarmonizationDataError(f'{url}@{commit}: has no folder "{FOLDER}"')
    return online_db
