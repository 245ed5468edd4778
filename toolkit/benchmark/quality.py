"""Per-image quality with an on-disk cache, so interrupted runs resume and re-runs only compute what is new."""
from __future__ import annotations

import hashlib
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


def test_pipeline(resolution: int) -> list:
    """The field's evaluation pipeline: straight resize to ``resolution``, mask binarised at 0.5."""
    return [dict(type='LoadHarmonizationImages'), dict(type='Resize', scale=resolution),
            dict(type='BinarizeMask', threshold=0.5), dict(type='PackHarmonizationInputs')]


def build_dataset(data_root: str, resolution: int, subsets: Optional[Sequence[str]] = None, split: str = 'test',
                  references: Optional[str] = None, seed: int = 0):
    """The iHarmony4 test split, or with ``references`` (a RAHarmony4 JSONL) one randomly drawn reference each."""
    if references:
        path = references if osp.isabs(references) else osp.join(data_root, references)
        return RAHarmony4Dataset(data_root, path, pipeline=test_pipeline(resolution), reference_choice='random',
                                 seed=seed, subsets=subsets)
    return IHarmony4Dataset(data_root, split=split, subsets=subsets, pipeline=test_pipeline(resolution))


def cache_key(spec: Optional[ModelSpec], profile: MetricProfile, resolution: int, dataset) -> str:
    """Everything a per-image result depends on: model, checkpoint, profile, resolution and the dataset's identity
    (root and split, or reference list and seed)."""
    identity = dict(model=None if spec is None else [spec.config_hash, spec.checkpoint_sha256],
                    profile=profile.to_dict(), resolution=resolution, dataset=dataset.cache_identity())
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
    :func:`test_pipeline` at ``resolution``. Records already in the cache (``<cache_dir>/<key>.jsonl``) are reused; new ones are appended
    after every batch, so an interrupted run resumes where it stopped.

    Args:
        max_images: evaluate at most the first N images of the dataset (quick runs).
        on_batch: called with the number of images finished in each batch (progress bars).

    Returns:
        Records in dataset order: ``name``, ``subset``, ``fg_ratio`` and the metric values.
    """
    profile = get_profile(profile)
    os.makedirs(cache_dir, exist_ok=True)
    cache_path = osp.join(cache_dir, f'{cache_key(spec, profile, resolution, dataset)}.jsonl')
    done = _read_cache(cache_path)
    names = [dataset.get_data_info(index)['name'] for index in range(len(dataset))]
    if max_images is not None:
        names = names[:max_images]
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
                    record = dict(name=sample.name, subset=sample.subset, **values)
                    done[record['name']] = record
                    handle.write(json.dumps(record) + '\n')
                handle.flush()
                if on_batch:
                    on_batch(len(samples))
    missing = [name for name in names if name not in done]
    if missing:
        raise RuntimeError(f'{len(missing)} images have no result in {cache_path}')
    return [{key: done[name][key] for key in ('name', 'subset', 'fg_ratio', *METRIC_NAMES)} for name in names]
