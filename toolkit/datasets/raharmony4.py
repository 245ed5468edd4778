"""RAHarmony4: iHarmony4 composites with per-composite reference lists (retrieval-augmented harmonization).

The reference lists are JSONL, one object per line, paths relative to the dataset root, as the
published Raiha code writes them::

    {"input": "HCOCO/composite_images/c1_1_1.jpg", "mask": "HCOCO/masks/c1_1.png",
     "refs": ["HCOCO/real_images/c437938.jpg"]}

The target of each composite is found with the iHarmony4 name mapping.
"""
from __future__ import annotations

import hashlib
import json
import os.path as osp
import random
from typing import Iterable, Optional, Sequence

from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

import toolkit.datasets.transforms  # noqa: F401  (registers the transforms the pipelines name)
from toolkit.registry import DATASETS

from .iharmony4 import _REAL_EXTENSIONS, parse_composite_name
from .io import HarmonizationDataError

REFERENCE_CHOICES = ('random', 'first', 'all', 'none')


def read_reference_list(path: str) -> list[dict]:
    """Parse a RAHarmony4 JSONL file; every line needs ``input``, ``mask`` and ``refs`` (a list)."""
    if not osp.isfile(path):
        raise HarmonizationDataError(f'{path}: reference list does not exist')
    entries = []
    with open(path, encoding='utf-8') as handle:
        for line_number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except json.JSONDecodeError as error:
                raise HarmonizationDataError(f'{path}:{line_number}: not JSON ({error.msg})') from None
            missing = [key for key in ('input', 'mask', 'refs') if key not in entry]
            if missing or not isinstance(entry.get('refs'), list):
                raise HarmonizationDataError(f'{path}:{line_number}: needs "input", "mask" and a "refs" list; '
                                             f'missing {missing or ["refs as a list"]}')
            entries.append(dict(input=entry['input'], mask=entry['mask'], refs=list(entry['refs'])))
    return entries


def write_reference_list(path: str, entries: Iterable[dict]) -> None:
    """Write entries (``input``, ``mask``, ``refs``) as RAHarmony4 JSONL."""
    with open(path, 'w', encoding='utf-8') as handle:
        for entry in entries:
            handle.write(json.dumps(dict(input=entry['input'], mask=entry['mask'], refs=list(entry['refs']))) + '\n')


@DATASETS.register_module()
class RAHarmony4Dataset(BaseDataset):
    """Composite, mask, target and references from a RAHarmony4 reference list.

    Args:
        data_root: the iHarmony4-layout root the JSONL paths are relative to.
        ann_file: the JSONL file (relative to ``data_root`` or absolute).
        reference_choice: ``'random'`` (one reference drawn per composite with ``seed``: the Raiha
            evaluation protocol, repeated over seeds), ``'first'``, ``'all'``, or ``'none'``
            (non-reference setting). Composites with an empty list get no reference.
        seed: seed of the ``'random'`` choice (a run is reproducible from it).
        subsets: keep only these subset folders.
        composites: ``'all'`` listed composites, or ``'with-references'``: only those whose list is not empty
            (the RAHarmony4 test protocol: the released ``IHD_test_temp.jsonl`` holds the paper's 2,248 of
            iHarmony4's 7,404 test composites; results on it are reported apart from the full test set).
    """

    COMPOSITE_CHOICES = ('all', 'with-references')

    def __init__(self, data_root: str, ann_file: str, pipeline=(), reference_choice: str = 'random', seed: int = 0,
                 subsets: Optional[Sequence[str]] = None, composites: str = 'all', **kwargs):
        if reference_choice not in REFERENCE_CHOICES:
            raise ValueError(f'reference_choice must be one of {REFERENCE_CHOICES}; got {reference_choice!r}')
        if composites not in self.COMPOSITE_CHOICES:
            raise ValueError(f'composites must be one of {self.COMPOSITE_CHOICES}; got {composites!r}')
        self.composites = composites
        self.reference_choice = reference_choice
        self.seed = seed
        self.subsets = tuple(subsets) if subsets else None
        with DefaultScope.overwrite_default_scope('toolkit'):
            super().__init__(ann_file=ann_file, data_root=data_root, pipeline=pipeline, test_mode=True, **kwargs)

    def cache_identity(self) -> dict:
        """What a per-image result depends on besides the model (for result caches)."""
        with open(self.ann_file, 'rb') as handle:
            digest = hashlib.sha256(handle.read()).hexdigest()
        return dict(kind='raharmony4', data_root=osp.abspath(self.data_root), reference_list=digest,
                    reference_choice=self.reference_choice, seed=self.seed, composites=self.composites)

    def load_data_list(self) -> list[dict]:
        root = self.data_root
        if not osp.isdir(root):
            raise HarmonizationDataError(f'{root}: dataset root does not exist')
        entries = read_reference_list(self.ann_file)
        rng = random.Random(self.seed)
        data_list = []
        for line_number, entry in enumerate(entries, 1):
            subset = entry['input'].replace('\\', '/').split('/')[0]
            if self.subsets and subset not in self.subsets:
                continue
            if self.composites == 'with-references' and not entry['refs']:
                continue
            _, real_stem = parse_composite_name(entry['input'])
            composite_path, mask_path = osp.join(root, entry['input']), osp.join(root, entry['mask'])
            candidates = [osp.join(root, subset, 'real_images', real_stem + ext) for ext in
                          (osp.splitext(entry['input'])[1],) + _REAL_EXTENSIONS]
            gt_path = next((path for path in candidates if osp.isfile(path)), None)
            refs = [osp.join(root, ref) for ref in entry['refs']]
            for path in [composite_path, mask_path, *refs]:
                if not osp.isfile(path):
                    raise HarmonizationDataError(f'{self.ann_file}:{line_number}: {path} does not exist')
            if gt_path is None:
                raise HarmonizationDataError(f'{self.ann_file}:{line_number}: no real image for {entry["input"]}')
            if self.reference_choice == 'none' or not refs:
                chosen = []
            elif self.reference_choice == 'random':
                chosen = [rng.choice(refs)]
            elif self.reference_choice == 'first':
                chosen = refs[:1]
            else:
                chosen = refs
            data_list.append(dict(composite_path=composite_path, mask_path=mask_path, gt_path=gt_path,
                                  ref_paths=chosen, subset=subset, name=entry['input'].replace('\\', '/')))
        if not data_list:
            raise HarmonizationDataError(f'{self.ann_file}: no composites (after the subset filter)')
        self._metainfo['subsets'] = tuple(dict.fromkeys(info['subset'] for info in data_list))
        return data_list
