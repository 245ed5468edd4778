"""The model zoo: ``model-index.yml`` (OpenMMLab style) importing ``configs/<method>/metafile.yml``.

A model entry::

    - Name: rainnet_l1-100_adam-200e_iharmony4-256
      In Collection: RainNet
      Config: configs/rainnet/rainnet_l1-100_adam-200e_iharmony4-256.py
      Results:
        - {Task: Image Harmonization, Dataset: iHarmony4, Subset: All, Metric Profile: toolkit,
           Metrics: {MSE: ..., PSNR: ...}}
      Weights:                       # or null for models without released weights
        repo_id: org/name
        revision: <40-character commit hash>
        filename: model.safetensors
        sha256: <hex>
        size: <bytes>

``HARMONYZOO_MODEL_INDEX`` points at another index (tests use one served by a fake hub).
"""
from __future__ import annotations

import difflib
import fnmatch
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Optional

import yaml

from .hub import HubError, HubWeights, download_weights, load_weights

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
INDEX_ENV = 'HARMONYZOO_MODEL_INDEX'


@dataclass
class ZooModel:
    name: str
    config: str
    collection: Optional[str] = None
    weights: Optional[HubWeights] = None
    results: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    paper: Optional[dict] = None
    readme: Optional[str] = None


def model_index_path() -> str:
    return os.environ.get(INDEX_ENV) or osp.join(REPO_ROOT, 'model-index.yml')


def _read_yaml(path: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f'model index file {path} does not exist')
    with open(path, encoding='utf-8') as handle:
        return yaml.safe_load(handle) or {}


def load_index(path: Optional[str] = None) -> dict[str, ZooModel]:
    """Every model of the index, by name."""
    path = path or model_index_path()
    root = osp.dirname(osp.abspath(path))
    index = _read_yaml(path)
    documents = [(path, index)] + [(osp.join(root, item), _read_yaml(osp.join(root, item)))
                                   for item in index.get('Import', [])]
    collections, models = {}, {}
    for _, document in documents:
        for collection in document.get('Collections', []) or []:
            collections[collection['Name']] = collection
    for source, document in documents:
        for entry in document.get('Models', []) or []:
            name = entry['Name']
            if name in models:
                raise ValueError(f'{source}: model {name!r} is listed twice in the model index')
            collection = collections.get(entry.get('In Collection'), {})
            weights = entry.get('Weights')
            try:
                weights = HubWeights(**weights) if weights else None
            except (TypeError, HubError) as error:
                raise ValueError(f'{source}: model {name!r} has invalid Weights: {error}') from error
            config = entry['Config']
            models[name] = ZooModel(
                name=name, config=config if osp.isabs(config) else osp.join(root, config),
                collection=entry.get('In Collection'), weights=weights, results=entry.get('Results', []) or [],
                metadata=dict(collection.get('Metadata', {}) or {}, **(entry.get('Metadata', {}) or {})),
                paper=entry.get('Paper') or collection.get('Paper'),
                readme=entry.get('README') or collection.get('README'))
    return models


def list_models(pattern: str = '*') -> list[str]:
    """Model names matching a shell-style ``pattern`` (case-insensitive), sorted.

    Example:
        >>> 'reinhard-lab' in list_models('*reinhard*')
        True
    """
    return sorted(name for name in load_index() if fnmatch.fnmatch(name.lower(), pattern.lower()))


def get_model_info(name: str) -> ZooModel:
    models = load_index()
    if name not in models:
        close = difflib.get_close_matches(name, list(models), n=3)
        hint = f'; did you mean {", ".join(close)}?' if close else '; `harmony list` shows them all'
        raise KeyError(f'unknown model {name!r}{hint}')
    return models[name]


def find_weights(repo_id: str, revision: str, filename: str) -> Optional[HubWeights]:
    """The zoo's record (with sha256 and size) of this exact file, if it lists it."""
    for model in load_index().values():
        weights = model.weights
        if weights and (weights.repo_id, weights.revision, weights.filename) == (repo_id, revision, filename):
            return weights
    return None


def download(name: str, cache_dir: Optional[str] = None) -> Optional[str]:
    """Fetch (or find cached) the weights of a zoo model; ``None`` for models without weights."""
    model = get_model_info(name)
    return download_weights(model.weights, cache_dir=cache_dir) if model.weights else None


def is_cached(name: str, cache_dir: Optional[str] = None) -> bool:
    """Whether the model needs no download (cached weights, or no weights at all)."""
    model = get_model_info(name)
    if model.weights is None:
        return True
    try:
        download_weights(model.weights, cache_dir=cache_dir, local_files_only=True)
    except HubError:
        return False
    return True


def get_model(name: str, pretrained: bool = True, device: str = 'cpu', cache_dir: Optional[str] = None):
    """Build a zoo model in eval mode on ``device``, with its released weights when ``pretrained``.

    Raises:
        KeyError: unknown name. HubError: download/verification problems, or ``pretrained`` for a
            learned model that has no released weights.
    """
    from toolkit.models import build_model_from_config
    info = get_model_info(name)
    model, cfg = build_model_from_config(info.config)
    has_parameters = any(True for _ in model.parameters())
    if pretrained and info.weights is not None:
        load_weights(model, download_weights(info.weights, cache_dir=cache_dir))
    elif pretrained and has_parameters:
        raise HubError(f'{name} has no released weights in the model zoo; use pretrained=False, or build it from '
                       f'its config with your own checkpoint ({osp.relpath(info.config, REPO_ROOT)})')
    model.zoo_name = name
    model.zoo_config = cfg
    return model.to(device).eval()
