"""The model zoo: ``model-index.yml`` (OpenMMLab style) importing ``configs/<method>/metafile.yml``.

A model entry::

    - Name: rainnet_l1-100_adam-200e_iharmony4-256
      In Collection: RainNet
      Config: configs/rainnet/rainnet_l1-100_adam-200e_iharmony4-256.py
      Results:
        - {Task: Image Harmonization, Dataset: iHarmony4, Subset: All, Metric Profile: toolkit,
           Metrics: {MSE: ..., PSNR: ...}}
      Weights:                       # on the Hugging Face Hub …
        repo_id: org/name
        revision: <40-character commit hash>
        filename: model.safetensors
        sha256: <hex>
        size: <bytes>
      Weights:                       # … or bundled with HarmonyZoo (small files), relative to the index
        file: weights/<name>.safetensors
        sha256: <hex>
        size: <bytes>
      Weights:                       # … or, for an ensemble (``HarmonizationEnsemble``), its members' own
        members: [zoo name, …]       #   weights, in the order of the config's members (nothing stored twice)
      Weights: null                  # not released (learned models) or none needed (``Learned: false``)

A learned model whose weights were published once and then taken out (the bundle ships no comparison-only model;
the 10 MB budget) says why in ``Metadata: {Withdrawn: <reason>}`` and keeps its file's sha256 in its training chain:
its status is ``withdrawn``, not ``not released``.

The index names the default model of ``harmony harmonize`` (``Default Model:``). Collections or models
with ``Metadata: {Learned: false}`` have no weights by design (non-learned baselines).

This module is the layer above :mod:`toolkit.hub` (which only fetches and verifies bytes): it knows which
models exist, and provides MMEngine's ``hf://`` checkpoint scheme (:func:`register_checkpoint_scheme`) so that a
config's ``load_from`` of a file the index lists is verified against the index's sha256.

``HARMONYZOO_MODEL_INDEX`` points at another index (tests use one served by a fake hub).
"""
from __future__ import annotations

import copy
import difflib
import fnmatch
import os
import os.path as osp
from dataclasses import dataclass, field
from typing import Optional, Union

import yaml

from .hub import (
    HubError,
    HubWeights,
    download_weights,
    file_sha256,
    file_signature,
    hub_file,
    load_state_dict_file,
    load_weights,
)

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..'))
INDEX_ENV = 'HARMONYZOO_MODEL_INDEX'


@dataclass(frozen=True)
class BundledWeights:
    """A weights file that ships with HarmonyZoo (small models), checked against its sha256 before use."""
    path: str
    sha256: str
    size: Optional[int] = None

    @property
    def uri(self) -> str:
        return osp.relpath(self.path, REPO_ROOT) if self.path.startswith(REPO_ROOT) else self.path

    def verified_path(self) -> str:
        """The file's path once its size and sha256 match the index.

        Raises:
            HubError: missing or modified file (the message names it).
        """
        if not osp.isfile(self.path):
            raise HubError(f'{self.path}: bundled weights file is missing (a damaged installation; reinstall '
                           'HarmonyZoo or restore the file from the repository)')
        if self.size is not None and osp.getsize(self.path) != self.size:
            raise HubError(f'{self.path}: {osp.getsize(self.path)} bytes, the model index says {self.size}: the '
                           'bundled weights were modified or truncated')
        actual = file_sha256(self.path)
        if actual != self.sha256:
            raise HubError(f'{self.path}: sha256 {actual} does not match the model index ({self.sha256}): the bundled '
                           'weights were modified')
        return self.path


@dataclass(frozen=True)
class EnsembleWeights:
    """An ensemble's weights are its members' (zoo names, in the order of its config's ``members``)."""
    members: tuple

    @property
    def uri(self) -> str:
        return 'the members\' own: ' + ', '.join(self.members)


#: how far each status is from running offline; an ensemble is as far as its furthest member
_STATUS_ORDER = ('none needed', 'bundled', 'cached', 'download', 'withdrawn', 'not released')


@dataclass
class ZooModel:
    name: str
    config: str
    collection: Optional[str] = None
    weights: Optional[Union[HubWeights, BundledWeights, EnsembleWeights]] = None
    results: list = field(default_factory=list)
    metadata: dict = field(default_factory=dict)
    paper: Optional[dict] = None
    readme: Optional[str] = None

    @property
    def learned(self) -> bool:
        """False for models that have no weights by design (``Metadata: {Learned: false}``)."""
        return bool(self.metadata.get('Learned', True))

    @property
    def use(self) -> Optional[str]:
        """The index's restriction on the model's use (``Metadata: Use``, e.g. ``comparison only``), if any."""
        use = self.metadata.get('Use')
        return str(use) if use else None

    @property
    def comparison_only(self) -> bool:
        """Kept so that published comparisons reproduce, not for harmonizing (worse than the input on the dev
        set; docs/zoo.md)."""
        return 'comparison' in (self.use or '').lower()

    @property
    def withdrawn(self) -> Optional[str]:
        """Why the weights this model once had were taken out of the zoo (``Metadata: Withdrawn``), if they were."""
        reason = self.metadata.get('Withdrawn')
        return str(reason) if reason and self.weights is None and self.learned else None

    @property
    def weights_status(self) -> str:
        """``bundled``, ``cached``, ``download``, ``withdrawn``, ``not released`` or ``none needed``."""
        if isinstance(self.weights, BundledWeights):
            return 'bundled'
        if isinstance(self.weights, EnsembleWeights):
            models = load_index()
            statuses = [models[member].weights_status if member in models else 'not released'
                        for member in self.weights.members]
            return max(statuses, key=_STATUS_ORDER.index).replace('none needed', 'bundled')
        if isinstance(self.weights, HubWeights):
            try:
                download_weights(self.weights, local_files_only=True)
            except HubError:
                return 'download'
            return 'cached'
        if self.withdrawn:
            return 'withdrawn'
        return 'not released' if self.learned else 'none needed'


def model_index_path() -> str:
    return os.environ.get(INDEX_ENV) or osp.join(REPO_ROOT, 'model-index.yml')


#: LibYAML's loader when PyYAML was built with it (≈10× faster than the pure-Python one)
_YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
#: parsed index files by path, with the file signature they were parsed at: one command asks the index several
#: questions, and an edited file is read again
_PARSED: dict[str, tuple[list[int], dict]] = {}


def _read_yaml(path: str) -> dict:
    if not osp.isfile(path):
        raise FileNotFoundError(f'model index file {path} does not exist')
    signature = file_signature(path)
    cached = _PARSED.get(path)
    if cached is None or cached[0] != signature:
        with open(path, encoding='utf-8') as handle:
            cached = _PARSED[path] = (signature, yaml.load(handle, Loader=_YAML_LOADER) or {})
    return copy.deepcopy(cached[1])


def _parse_weights(weights: Optional[dict], root: str):
    if not weights:
        return None
    if 'members' in weights:
        members = weights['members']
        if not isinstance(members, list) or len(members) < 2 or not all(isinstance(m, str) for m in members):
            raise HubError(f'ensemble weights need a list of at least two member names; got {members!r}')
        return EnsembleWeights(tuple(members))
    if 'file' in weights:
        if 'sha256' not in weights:
            raise HubError(f'bundled weights {weights["file"]} need a sha256')
        path = weights['file'] if osp.isabs(weights['file']) else osp.join(root, weights['file'])
        return BundledWeights(osp.normpath(path), weights['sha256'], weights.get('size'))
    return HubWeights(**weights)


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
            try:
                weights = _parse_weights(entry.get('Weights'), root)  # paths are relative to the index, as Config
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


def default_model_name(path: Optional[str] = None, required: bool = True) -> Optional[str]:
    """The model ``harmony harmonize`` uses when none is named (the index's ``Default Model``).

    Raises:
        KeyError: the index names none (with ``required``; else ``None`` is returned).

    Example:
        >>> default_model_name() in load_index()
        True
    """
    path = path or model_index_path()
    name = _read_yaml(path).get('Default Model')
    if not name and required:
        raise KeyError(f'{path} names no "Default Model"; pass a model with --model')
    return name or None


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
        if isinstance(weights, HubWeights) and (weights.repo_id, weights.revision, weights.filename) == (
                repo_id, revision, filename):
            return weights
    return None


def superseded_by(name: str, models: Optional[dict[str, ZooModel]] = None) -> Optional[str]:
    """The model whose weights replaced this one's: a later stage of a training chain that lists this model's config
    as an earlier stage (``Metadata: Training Chain``) and has weights of its own; ``None`` otherwise (and for any
    model that has weights or needs none).

    A stage-1 model whose weights left the bundle for its continued stage is not "unreleased": its weights gave way.
    ``models`` is an already loaded index (:func:`load_index`), for callers that ask about many models.

    Example:
        >>> superseded_by('colorcurves_adam-6k_lalonde-efros-256')
        'colorcurves_adam-6k-warm-3k_matched-256'
    """
    models = load_index() if models is None else models
    model = models[name]
    if model.weights is not None or not model.learned:
        return None
    config = osp.normpath(osp.relpath(model.config, REPO_ROOT))
    for other in models.values():
        stages = other.metadata.get('Training Chain') or []
        earlier = [osp.normpath(str(stage.get('Config', ''))) for stage in stages[:-1] if isinstance(stage, dict)]
        if other.name != name and other.weights is not None and config in earlier:
            return other.name
    return None


def weights_path(name: str, cache_dir: Optional[str] = None, local_files_only: Optional[bool] = None) -> str:
    """The verified local file of a zoo model's weights: bundled, cached, or downloaded now.

    Raises:
        HubError: the model has no weights (not released, or none needed), or fetching/verifying failed.
    """
    model = get_model_info(name)
    if isinstance(model.weights, EnsembleWeights):
        raise HubError(f'{name}: an ensemble; its weights are its members\' ({", ".join(model.weights.members)}): '
                       'see toolkit.zoo.member_weights_paths')
    if isinstance(model.weights, BundledWeights):
        return model.weights.verified_path()
    if isinstance(model.weights, HubWeights):
        return download_weights(model.weights, cache_dir=cache_dir, local_files_only=local_files_only)
    if model.learned:
        raise no_weights_error(name)
    raise HubError(f'{name}: a non-learned model; it has no weights to fetch')


def no_weights_error(name: str) -> HubError:
    """The one-line error for a learned zoo model without weights: which continued stage its weights gave way to
    (:func:`superseded_by`), why they were withdrawn, or that none were released; always how to train it."""
    model = get_model_info(name)
    config = osp.relpath(model.config, REPO_ROOT)
    successor = superseded_by(name)
    if successor:
        return HubError(f'{name}: its weights gave way in the zoo to its continued training stage, {successor} '
                        f'(use that model), or train it with `python tools/train.py {config}`')
    if model.withdrawn:
        return HubError(f'{name}: its weights were withdrawn from the zoo ({model.withdrawn}); its config reproduces '
                        f'them: train it with `python tools/train.py {config}` and use CONFIG.py:CHECKPOINT')
    return HubError(f'{name}: no weights have been released for this model; train it with '
                    f'`python tools/train.py {config}` and use CONFIG.py:CHECKPOINT')


def member_weights_paths(name: str, cache_dir: Optional[str] = None,
                         local_files_only: Optional[bool] = None) -> list[Optional[str]]:
    """An ensemble's members' verified weights files, in the order of its config's members (``None`` for a
    non-learned member).

    Raises:
        HubError: not an ensemble, a member without released weights, or the members named by the index are not
            the models its config averages (another config or another order).
    """
    from toolkit.config import read_config
    from toolkit.models.ensemble import member_config_path
    model = get_model_info(name)
    if not isinstance(model.weights, EnsembleWeights):
        raise HubError(f'{name}: not an ensemble (its index entry has no "Weights: members")')
    configured = [member_config_path(member) if isinstance(member, str) else None
                  for member in read_config(model.config)['model'].get('members', [])]
    listed = [osp.normpath(get_model_info(member).config) for member in model.weights.members]
    if configured != listed:
        raise HubError(f'{name}: the index lists the members {", ".join(model.weights.members)} but its config '
                       f'({osp.relpath(model.config, REPO_ROOT)}) averages {", ".join(map(str, configured))}')
    return [weights_path(member, cache_dir=cache_dir, local_files_only=local_files_only)
            if get_model_info(member).learned else None for member in model.weights.members]


def download(name: str, cache_dir: Optional[str] = None) -> Optional[str]:
    """Fetch (or find bundled/cached) the weights of a zoo model; ``None`` for non-learned models; for an ensemble,
    its members' files joined by ``", "`` (:func:`member_weights_paths`).

    Raises:
        HubError: a learned model without released weights, or a download/verification problem.
    """
    model = get_model_info(name)
    if model.weights is None and not model.learned:
        return None
    if isinstance(model.weights, EnsembleWeights):
        return ', '.join(path for path in member_weights_paths(name, cache_dir=cache_dir) if path)
    return weights_path(name, cache_dir=cache_dir)


def auxiliary_weights(name: str) -> list[tuple[str, dict, str]]:
    """Weights a model loads besides its own, read from its config: the frozen content encoder of
    reference/semantic models (``model.content_encoder.weights``: ``config.json`` and the weights file) and its
    DVT denoiser. Returns ``(what, weights dict, filename)`` triples (hub entries only; local paths skipped)."""
    from toolkit.config import read_config
    cfg = read_config(get_model_info(name).config)
    encoder = (cfg.get('model') or {}).get('content_encoder')
    found = []
    if not isinstance(encoder, dict):
        return found
    weights = encoder.get('weights')
    if isinstance(weights, dict) and weights.get('repo_id'):
        found.append(('content encoder config', dict(weights), weights.get('config', 'config.json')))
        found.append(('content encoder', dict(weights), weights.get('filename', 'model.safetensors')))
    denoiser = (encoder.get('denoiser') or {}).get('weights')
    if isinstance(denoiser, dict) and denoiser.get('repo_id'):
        found.append(('DVT denoiser', dict(denoiser), denoiser.get('filename', 'model.safetensors')))
    return found


def download_auxiliary(name: str, cache_dir: Optional[str] = None) -> list[tuple[str, str]]:
    """Download (or find in the cache) and verify :func:`auxiliary_weights`; ``[(what, local path)]``."""
    return [(what, hub_file(weights, filename, what, cache_dir=cache_dir)[0])
            for what, weights, filename in auxiliary_weights(name)]


def is_cached(name: str, cache_dir: Optional[str] = None) -> bool:
    """Whether the model runs without a download (bundled or cached weights, or no weights needed)."""
    return get_model_info(name).weights_status in ('bundled', 'cached', 'none needed')


def get_model(name: str, pretrained: bool = True, device: str = 'cpu', cache_dir: Optional[str] = None):
    """Build a zoo model in eval mode on ``device``, with its released weights when ``pretrained``.

    Raises:
        KeyError: unknown name. HubError: download/verification problems, or ``pretrained`` for a
            learned model that has no released weights.
    """
    from toolkit.models import build_model_from_config
    info = get_model_info(name)
    if pretrained and info.weights is None and info.learned:
        # said before building: building a reference model fetches its content encoder, which would fail first
        raise no_weights_error(name)
    ensemble = isinstance(info.weights, EnsembleWeights)
    weights_files = None  # fetched and verified before building
    if pretrained and info.weights is not None:
        weights_files = (member_weights_paths(name, cache_dir=cache_dir) if ensemble
                         else weights_path(name, cache_dir=cache_dir))
    model, cfg = build_model_from_config(info.config)
    has_parameters = any(True for _ in model.parameters())
    if weights_files is not None and ensemble:
        model.load_member_weights(weights_files)
    elif weights_files is not None:
        load_weights(model, weights_files)
    elif pretrained and has_parameters:
        raise HubError(f'{name} has no released weights in the model zoo; train it from its config '
                       f'({osp.relpath(info.config, REPO_ROOT)}) and use CONFIG.py:CHECKPOINT')
    model.zoo_name = name
    model.zoo_config = cfg
    return model.to(device).eval()


def load_from_hub(filename: str, map_location=None) -> dict:
    """MMEngine scheme ``hf://org/repo@<commit>/file``: download, verify (against the index's sha256 when it
    lists the file), load safely."""
    weights = HubWeights.from_uri(filename)
    if not weights.sha256:
        weights = find_weights(weights.repo_id, weights.revision, weights.filename) or weights
    return load_state_dict_file(download_weights(weights), map_location=map_location or 'cpu')


def register_checkpoint_scheme() -> None:
    """Let MMEngine load ``hf://org/repo@<commit>/file`` (``load_from``, ``--resume``) through :func:`load_from_hub`.

    Called by :func:`toolkit.setup_env.register_all_modules` (importing MMEngine's runner costs ~1 s, which the
    ``harmony`` command does not pay)."""
    from mmengine.runner.checkpoint import CheckpointLoader
    CheckpointLoader.register_scheme(prefixes='hf://', force=True)(load_from_hub)
