"""iHarmony4 exactly as released, and any dataset laid out the same way.

Layout::

    <root>/IHD_train.txt, IHD_test.txt          lines: HCOCO/composite_images/c100300_1602094_1.jpg
    <root>/<Sub>/<Sub>_train.txt, <Sub>_test.txt  lines: c100300_1602094_1.jpg (bare names)
    <root>/<Sub>/composite_images/<real>_<fg>_<k>.<ext>
    <root>/<Sub>/masks/<real>_<fg>.png
    <root>/<Sub>/real_images/<real>.jpg

Names are parsed from the right, so real-image names may contain dashes or
underscores (``d21901-20130410-181833_1_9.jpg`` → real ``d21901-20130410-181833``).
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
from typing import Optional, Sequence

from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

import toolkit.datasets.transforms  # noqa: F401  (registers the transforms the pipelines name)
from toolkit.registry import DATASETS

from .io import HarmonizationDataError

IHARMONY4_SUBSETS = ('HCOCO', 'HAdobe5k', 'HFlickr', 'Hday2night')
_REAL_EXTENSIONS = ('.jpg', '.png', '.jpeg', '.JPG', '.PNG')


def parse_composite_name(file_name: str) -> tuple[str, str]:
    """``<real>_<fg>_<k>.<ext>`` → (mask stem ``<real>_<fg>``, real stem ``<real>``).

    Raises:
        HarmonizationDataError: the name does not end in ``_<fg>_<k>``.
    """
    stem = osp.splitext(osp.basename(file_name))[0]
    parts = stem.rsplit('_', 2)
    if len(parts) != 3 or not parts[0]:
        raise HarmonizationDataError(
            f'{file_name}: composite names must look like <real>_<fg>_<k>.<ext> (e.g. c100300_1602094_1.jpg)')
    real, foreground, _ = parts
    return f'{real}_{foreground}', real


def _read_split(path: str) -> list[str]:
    with open(path, encoding='utf-8') as handle:
        return [line.strip() for line in handle if line.strip()]


@DATASETS.register_module()
class IHarmony4Dataset(BaseDataset):
    """Composite / mask / real-image triplets in the iHarmony4 layout.

    Args:
        data_root: dataset root (the folder holding ``IHD_train.txt``).
        split: ``'train'`` or ``'test'``.
        subsets: subset folder names to keep (default: every subset the split lists).
        ann_file: optional split file relative to ``data_root`` in the ``IHD_*.txt`` format;
            by default ``IHD_{split}.txt``, else the per-subset ``<Sub>/<Sub>_{split}.txt``.
        pipeline: transforms (see :mod:`toolkit.datasets.transforms`).

    Each data info holds ``composite_path``, ``mask_path``, ``gt_path``, ``subset`` and
    ``name`` (the composite path relative to ``data_root``).

    Example:
        >>> dataset = IHarmony4Dataset('data/samples', split='test', subsets=['HAdobe5k'])
        >>> len(dataset), dataset.get_data_info(0)['name']
        (2, 'HAdobe5k/composite_images/a0002_1_4.jpg')
    """

    METAINFO = dict(subsets=IHARMONY4_SUBSETS)

    def __init__(self, data_root: str, split: str = 'test', subsets: Optional[Sequence[str]] = None,
                 ann_file: str = '', pipeline=(), test_mode: Optional[bool] = None, **kwargs):
        if split not in ('train', 'test'):
            raise ValueError(f"split must be 'train' or 'test'; got {split!r}")
        self.split = split
        self.subsets = tuple(subsets) if subsets else None
        # transforms given as configs are looked up in the toolkit scope, however the dataset is built
        with DefaultScope.overwrite_default_scope('toolkit'):
            super().__init__(ann_file=ann_file, data_root=data_root, pipeline=pipeline,
                             test_mode=(split == 'test') if test_mode is None else test_mode, **kwargs)

    def cache_identity(self) -> dict:
        """What a per-image result depends on besides the model and the image files themselves (result caches):
        the root, the split and the content of the split file(s) read."""
        digest = hashlib.sha256()
        for path in self._split_files:
            with open(path, 'rb') as handle:
                digest.update(handle.read())
        return dict(kind='iharmony4', data_root=osp.abspath(self.data_root), split=self.split,
                    split_files=digest.hexdigest(), subsets=list(self.subsets or ()))

    # -- split files -----------------------------------------------------------------------------
    def _entries_from_ihd(self, path: str) -> list[tuple[str, str]]:
        entries = []
        for line_number, line in enumerate(_read_split(path), 1):
            parts = line.replace('\\', '/').split('/')
            if len(parts) < 3 or parts[-2] != 'composite_images':
                raise HarmonizationDataError(
                    f'{path}:{line_number}: expected "<Subset>/composite_images/<name>", got {line!r}')
            entries.append(('/'.join(parts[:-2]), parts[-1]))
        return entries

    def _entries_from_subset_files(self, root: str) -> list[tuple[str, str]]:
        # any folder holding <Sub>/<Sub>_<split>.txt is a subset (iHarmony4's four first, in their usual order)
        folders = sorted(os.listdir(root), key=lambda name: (name not in IHARMONY4_SUBSETS,
                                                             IHARMONY4_SUBSETS.index(name)
                                                             if name in IHARMONY4_SUBSETS else 0, name))
        subsets = self.subsets or tuple(
            name for name in folders if osp.isfile(osp.join(root, name, f'{name}_{self.split}.txt')))
        if not subsets:
            raise HarmonizationDataError(
                f'{root}: no split file found: expected {osp.join(root, f"IHD_{self.split}.txt")} or '
                f'<root>/<Subset>/<Subset>_{self.split}.txt for one of {", ".join(IHARMONY4_SUBSETS)}')
        entries = []
        self._split_files = []
        for subset in subsets:
            path = osp.join(root, subset, f'{subset}_{self.split}.txt')
            if not osp.isfile(path):
                raise HarmonizationDataError(f'{path}: split file for subset {subset!r} does not exist')
            self._split_files.append(path)
            entries += [(subset, osp.basename(line.replace('\\', '/'))) for line in _read_split(path)]
        return entries

    def load_data_list(self) -> list[dict]:
        root = self.data_root
        if not osp.isdir(root):
            raise HarmonizationDataError(f'{root}: dataset root does not exist')
        if self.ann_file:
            if not osp.isfile(self.ann_file):
                raise HarmonizationDataError(f'{self.ann_file}: split file does not exist')
            split_file, entries = self.ann_file, self._entries_from_ihd(self.ann_file)
            self._split_files = [self.ann_file]
        elif osp.isfile(osp.join(root, f'IHD_{self.split}.txt')):
            split_file = osp.join(root, f'IHD_{self.split}.txt')
            entries = self._entries_from_ihd(split_file)
            self._split_files = [split_file]
        else:
            split_file, entries = 'per-subset split files', self._entries_from_subset_files(root)

        present = sorted({subset for subset, _ in entries})
        if self.subsets:
            unknown = [name for name in self.subsets if name not in present]
            if unknown:
                raise HarmonizationDataError(
                    f'{split_file}: subsets {unknown} are not in the {self.split} split; available: {present}')
            entries = [entry for entry in entries if entry[0] in self.subsets]
        if not entries:
            raise HarmonizationDataError(f'{split_file}: the {self.split} split is empty')
        self._metainfo['subsets'] = tuple(name for name in (self.subsets or present))
        return [self._make_info(root, subset, name, split_file) for subset, name in entries]

    @staticmethod
    def _make_info(root: str, subset: str, name: str, split_file: str) -> dict:
        mask_stem, real_stem = parse_composite_name(name)
        composite_path = osp.join(root, subset, 'composite_images', name)
        mask_path = osp.join(root, subset, 'masks', mask_stem + '.png')
        for path in (composite_path, mask_path):
            if not osp.isfile(path):
                raise HarmonizationDataError(
                    f'{split_file}: entry {subset}/composite_images/{name} needs {path}, which does not exist')
        extensions = (osp.splitext(name)[1],) + _REAL_EXTENSIONS
        gt_candidates = [osp.join(root, subset, 'real_images', real_stem + ext) for ext in extensions]
        gt_path = next((path for path in gt_candidates if osp.isfile(path)), None)
        if gt_path is None:
            raise HarmonizationDataError(
                f'{split_file}: entry {subset}/composite_images/{name} has no real image '
                f'{osp.join(root, subset, "real_images", real_stem)}.{{jpg,png}}')
        return dict(composite_path=composite_path, mask_path=mask_path, gt_path=gt_path, subset=subset,
                    name=f'{subset}/composite_images/{name}')
