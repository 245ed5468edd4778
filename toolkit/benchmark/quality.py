"""Per-image quality with an on-disk cache, so interrupted runs resume and re-runs only compute what is new.

A cached value is reused only when everything that decided it is unchanged (:func:`cache_key`, per record):

* the model (config hash, checkpoint sha256), the metric profile (every field, resizing included) and resolution;
* the dataset's identity: root, split and the content of its split file(s) (or reference list and seed);
* the **metric code**: :func:`metric_code_version` hashes the source of the metric and pipeline modules and their
  module-level constants, so editing the code (or a constant) recomputes;
* the **data**: each record stores the sha256 of its composite, mask and real image; a file whose size or
  modification time changed is hashed again (:class:`FileFingerprints`) and a different content recomputes.
"""
from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import os
import os.path as osp
from typing import Callable, Optional, Sequence

import torch
from mmengine.dataset import pseudo_collate
from torch.utils.data import DataLoader, Subset

from toolkit.datasets import IHarmony4Dataset, RAHarmony4Dataset
from toolkit.metrics import METRIC_NAMES, MetricProfile, compute_image_metrics, get_profile

from .models import ModelSpec


def test_pipeline(resolution: int, profile: Optional[MetricProfile] = None) -> list:
    """The field's evaluation pipeline: straight resize to ``resolution`` with the profile's image and mask
    interpolation, the mask binarised at 0.5 for the model (the metric reads the soft mask)."""
    profile = get_profile(profile)
    return [dict(type='LoadHarmonizationImages'),
            dict(type='Resize', scale=resolution, interpolation=profile.image_interpolation,
                 mask_interpolation=profile.mask_interpolation),
            dict(type='BinarizeMask', threshold=0.5), dict(type='PackHarmonizationInputs')]


def build_dataset(data_root: str, resolution: int, subsets: Optional[Sequence[str]] = None, split: str = 'test',
                  references: Optional[str] = None, seed: int = 0, profile=None,
                  reference_composites: str = 'with-references'):
    """The iHarmony4 test split, or with ``references`` (a RAHarmony4 JSONL) one randomly drawn reference each, over
    the composites that have one (the RAHarmony4 protocol) or ``reference_composites='all'`` listed ones."""
    pipeline = test_pipeline(resolution, profile)
    if references:
        path = references if osp.isabs(references) else osp.join(data_root, references)
        return RAHarmony4Dataset(data_root, path, pipeline=pipeline, reference_choice='random', seed=seed,
                                 subsets=subsets, composites=reference_composites)
    return IHarmony4Dataset(data_root, split=split, subsets=subsets, pipeline=pipeline)


#: modules whose code turns images and predictions into metric values (their source is part of the cache key)
METRIC_CODE_MODULES = ('toolkit.metrics.functional', 'toolkit.metrics.profiles', 'toolkit.metrics.harmonization_metric',
                       'toolkit.datasets.io', 'toolkit.datasets.transforms.loading',
                       'toolkit.datasets.transforms.processing', 'toolkit.datasets.transforms.formatting',
                       'toolkit.benchmark.quality')


def metric_code_version(modules: Sequence[str] = METRIC_CODE_MODULES) -> str:
    """A hash of the metric and pipeline code: each module's source and its module-level constants (UPPER_CASE
    numbers, strings, tuples), so a changed formula or constant invalidates cached values."""
    digest = hashlib.sha256()
    for name in modules:
        module = importlib.import_module(name)
        digest.update(name.encode())
        digest.update(inspect.getsource(module).encode())
        constants = {key: value for key, value in vars(module).items()
                     if key.isupper() and isinstance(value, (int, float, str, tuple))}
        digest.update(repr(sorted(constants.items())).encode())
    return digest.hexdigest()[:16]


class FileFingerprints:
    """sha256 of data files, recomputed only when a file's signature (:func:`toolkit.hub.file_signature`: size,
    modification time, status-change time, inode) changed. Stored in ``<cache_dir>/files.json`` as
    ``path → [size, mtime_ns, ctime_ns, inode, sha256]``.
    """

    def __init__(self, path: str):
        self.path, self.records = path, {}
        if osp.isfile(path):
            try:
                with open(path, encoding='utf-8') as handle:
                    self.records = json.load(handle)
            except (OSError, json.JSONDecodeError):
                self.records = {}  # a damaged index is rebuilt: hashes are recomputed, never trusted blindly
        self.changed = False

    def sha256(self, path: str) -> str:
        path = osp.abspath(path)
        from toolkit.hub import file_sha256, file_signature
        signature = file_signature(path)
        known = self.records.get(path)
        if known and len(known) == 5 and known[:4] == signature:  # (records of older versions are hashed again)
            return known[4]
        digest = file_sha256(path)
        self.records[path] = [*signature, digest]
        self.changed = True
        return digest

    def data_key(self, info: dict) -> str:
        """One digest of an example's files (composite, mask, real image, references)."""
        paths = [info['composite_path'], info['mask_path'], info.get('gt_path'), *(info.get('ref_paths') or [])]
        return hashlib.sha256('|'.join(self.sha256(path) for path in paths if path).encode()).hexdigest()[:16]

    def save(self) -> None:
        if self.changed:
            os.makedirs(osp.dirname(osp.abspath(self.path)), exist_ok=True)
            temporary = self.path + '.partial'
            with open(temporary, 'w', encoding='utf-8') as handle:
                json.dump(self.records, handle)
            os.replace(temporary, self.path)
            self.changed = False


def dataset_digest(dataset, cache_dir: str) -> str:
    """One sha256 over every example's files (composite, mask, real image, references), for provenance."""
    fingerprints = FileFingerprints(osp.join(cache_dir, 'files.json'))
    keys = [fingerprints.data_key(dataset.get_data_info(index)) for index in range(len(dataset))]
    fingerprints.save()
    return hashlib.sha256('\n'.join(keys).encode()).hexdigest()


def cache_key(spec: Optional[ModelSpec], profile: MetricProfile, resolution: int, dataset) -> str:
    """What every per-image result of a run depends on: model, checkpoint, profile, resolution, the dataset's
    identity (root, split and split-file content, or reference list and seed) and the metric code version.
    (The image files themselves are checked per record, see :class:`FileFingerprints`.)"""
    identity = dict(model=None if spec is None else [spec.config_hash, spec.checkpoint_sha256],
                    profile=profile.to_dict(), resolution=resolution, dataset=dataset.cache_identity(),
                    code=metric_code_version())
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _read_cache(path: str) -> dict:
    records = {}
    if not osp.isfile(path):
        return records
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                break  # a line cut short by an interruption: recompute from here
            records[record['name']] = record
    return records


def evaluate_quality(spec: Optional[ModelSpec], dataset, profile, cache_dir: str, resolution: int,
                     model=None, device: str = 'cpu', batch_size: int = 8, num_workers: int = 0,
                     max_images: Optional[int] = None,
                     on_batch: Optional[Callable[[int], None]] = None) -> list[dict]:
    """Per-image metric records for one model (or, with ``spec=None``, for the input composite).

    ``dataset`` is an :class:`IHarmony4Dataset` or a :class:`RAHarmony4Dataset` built with
    :func:`test_pipeline` at ``resolution``. Records already in the cache (``<cache_dir>/<key>.jsonl``) are reused;
    new ones are appended after every batch, so an interrupted run resumes where it stopped.

    Args:
        max_images: evaluate at most the first N images of the dataset (quick runs).
        on_batch: called with the number of images finished in each batch (progress bars).

    Returns:
        Records in dataset order: ``name``, ``subset``, ``fg_ratio`` and the metric values.
    """
    profile = get_profile(profile)
    os.makedirs(cache_dir, exist_ok=True)
    cache_path = osp.join(cache_dir, f'{cache_key(spec, profile, resolution, dataset)}.jsonl')
    fingerprints = FileFingerprints(osp.join(cache_dir, 'files.json'))
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    if max_images is not None:
        infos = infos[:max_images]
    names = [info['name'] for info in infos]
    data_keys = {info['name']: fingerprints.data_key(info) for info in infos}
    fingerprints.save()
    done = {name: record for name, record in _read_cache(cache_path).items()
            if record.get('data') == data_keys.get(name)}  # a changed image, mask or target is computed again
    todo = [index for index, name in enumerate(names) if name not in done]
    if on_batch and len(names) - len(todo):
        on_batch(len(names) - len(todo))
    if todo:
        loader = DataLoader(Subset(dataset, todo), batch_size=batch_size, num_workers=num_workers,
                            collate_fn=pseudo_collate, shuffle=False)
        # rewrite the cache without a possibly truncated tail before appending
        with open(cache_path, 'w', encoding='utf-8') as handle:
            handle.writelines(json.dumps(record) + '\n' for record in done.values())
        with open(cache_path, 'a', encoding='utf-8') as handle, torch.no_grad():
            for batch in loader:
                samples = batch['data_samples']
                if model is not None:
                    data = model.data_preprocessor(batch)
                    samples = model(**data, mode='predict')
                for sample in samples:
                    prediction = sample.pred_img if model is not None else sample.composite_img
                    values = compute_image_metrics(prediction.cpu(), sample.gt_img.cpu(), sample.soft_mask.cpu(),
                                                   profile)
                    record = dict(name=sample.name, subset=sample.subset, data=data_keys[sample.name], **values)
                    done[record['name']] = record
                    handle.write(json.dumps(record) + '\n')
                handle.flush()
                if on_batch:
                    on_batch(len(samples))
    missing = [name for name in names if name not in done]
    if missing:
        raise RuntimeError(f'{len(missing)} images have no result in {cache_path}')
    return [{key: done[name][key] for key in ('name', 'subset', 'fg_ratio', *METRIC_NAMES)} for name in names]
