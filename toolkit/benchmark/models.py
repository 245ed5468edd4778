"""Which model a leaderboard row is: a config (and its checkpoint), resolved, built and fingerprinted."""
from __future__ import annotations

import glob
import hashlib
import json
import os.path as osp
from dataclasses import dataclass, field
from typing import Optional

from mmengine.config import Config

from toolkit.hub import file_sha256

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
CONFIG_ROOT = osp.join(REPO_ROOT, 'configs')


@dataclass
class ModelSpec:
    """A model to benchmark: ``name`` (row label), ``config`` path and optional ``checkpoint``."""
    name: str
    config: str
    checkpoint: Optional[str] = None
    config_hash: str = ''
    checkpoint_sha256: Optional[str] = None
    extra: dict = field(default_factory=dict)
    #: ``CONFIG:none`` asked for the config's initial weights on purpose (efficiency runs, smoke tests)
    random_weights: bool = False


def _find_config(name: str, config_root: str) -> str:
    candidates = sorted(path for path in glob.glob(osp.join(config_root, '**', '*.py'), recursive=True)
                        if '_base_' not in path)
    stems = {path: osp.splitext(osp.basename(path))[0] for path in candidates}
    exact = [path for path, stem in stems.items() if stem == name]
    matches = exact or [path for path, stem in stems.items() if stem.startswith(name + '_')]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise FileNotFoundError(f'no config named {name!r} under {config_root}; pass CONFIG[:CHECKPOINT] or one of: '
                                + ', '.join(sorted({stem.split('_')[0] for stem in stems.values()})))
    raise ValueError(f'model name {name!r} is ambiguous: ' + ', '.join(osp.relpath(p, config_root) for p in matches))


def model_name(argument: str) -> str:
    """The name a model argument (a zoo name, ``CONFIG.py`` or ``CONFIG.py:CHECKPOINT``) goes by in results and
    picture sheets: a zoo name as it is, a config by its file name without ``.py`` (what ``tools/publish.py`` would
    call it).

    Example:
        >>> model_name('configs/colorcurves/colorcurves_adam-6k_lalonde-efros-256.py:work_dirs/run/iter_500.pth')
        'colorcurves_adam-6k_lalonde-efros-256'
        >>> model_name('reinhard-lab')
        'reinhard-lab'
    """
    config = argument.split('.py:', 1)[0] + '.py' if '.py:' in argument else argument
    return osp.splitext(osp.basename(config))[0] if config.endswith('.py') else argument


def _zoo_entry(name: str):
    if name.endswith('.py') or '.py:' in name:
        return None
    from toolkit.zoo import load_index
    return load_index().get(name)


def resolve_model(argument: str, config_root: str = CONFIG_ROOT) -> ModelSpec:
    """A zoo name (``harmony list``), ``CONFIG[:CHECKPOINT]``, or a config name under ``configs/``.

    Zoo models come with their released weights (downloaded and verified, or from the cache).

    ``:none`` (or no checkpoint) means a model without weights. Checkpoints are fingerprinted with
    sha256 and configs by their model section, so cached results are reused only for the same model.

    Raises:
        FileNotFoundError: the config or checkpoint does not exist.
    """
    config, checkpoint = argument, None
    zoo_entry = _zoo_entry(argument)
    if zoo_entry is not None:  # a zoo name: its config, and its released weights (bundled, cached or downloaded)
        from toolkit.zoo import EnsembleWeights, member_weights_paths, weights_path
        config = zoo_entry.config
        if isinstance(zoo_entry.weights, EnsembleWeights):  # its members' own files, fingerprinted together
            spec = resolve_model(f'{config}:none', config_root)
            spec.extra['member_weights'] = member_weights_paths(argument)
            spec.checkpoint_sha256 = hashlib.sha256(' '.join(
                file_sha256(path) if path else '-' for path in spec.extra['member_weights']).encode()).hexdigest()
        else:
            checkpoint = weights_path(argument) if zoo_entry.weights else None
            spec = resolve_model(f'{config}:{checkpoint or "none"}', config_root)
        spec.name, spec.random_weights = argument, False  # an unreleased learned model has no weights to score
        return spec
    if '.py:' in argument:
        config, checkpoint = argument.split('.py:', 1)
        config += '.py'
    if not config.endswith('.py'):
        config = _find_config(config, config_root)
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config} does not exist')
    random_weights = bool(checkpoint) and checkpoint.lower() == 'none'
    if random_weights:
        checkpoint = None
    if checkpoint and not osp.isfile(checkpoint):
        raise FileNotFoundError(f'checkpoint {checkpoint} does not exist')
    cfg = Config.fromfile(config)
    model_section = json.dumps(dict(model=cfg.model.to_dict(), imports=cfg.get('custom_imports', {})),
                               sort_keys=True, default=str)
    name = osp.splitext(osp.basename(config))[0].split('_')[0]
    if checkpoint:
        name = f'{name}@{osp.splitext(osp.basename(checkpoint))[0]}'
    return ModelSpec(name=name, config=osp.abspath(config), checkpoint=osp.abspath(checkpoint) if checkpoint else None,
                     config_hash=hashlib.sha256(model_section.encode()).hexdigest()[:16],
                     checkpoint_sha256=file_sha256(checkpoint) if checkpoint else None, random_weights=random_weights)


def check_scorable(spec: ModelSpec, model) -> None:
    """Refuse to score a model with learnable weights that were never loaded: its numbers would be those of a random
    initialisation under the model's name. ``CONFIG:none`` asks for that on purpose.

    Raises:
        ValueError: ``model`` has parameters, ``spec`` no checkpoint, and random weights were not asked for.
    """
    if spec.checkpoint is None and not spec.random_weights and not spec.extra.get('member_weights') and any(
            True for _ in model.parameters()):
        raise ValueError(f'{spec.name} ({osp.relpath(spec.config, REPO_ROOT)}) has learnable weights but no '
                         f'checkpoint: pass CONFIG:CHECKPOINT, a zoo name with released weights, or CONFIG:none to '
                         f'score random weights on purpose')


def build_model(spec: ModelSpec, device: str = 'cpu'):
    """Build the harmonizer of ``spec`` in eval mode on ``device`` and load its checkpoint strictly and safely
    (safetensors, or ``.pth`` through :func:`toolkit.checkpoint.safe_torch_load`)."""
    from toolkit.hub import load_weights
    from toolkit.models import build_model_from_config
    model, _ = build_model_from_config(spec.config)
    if spec.checkpoint:
        load_weights(model, spec.checkpoint)
    elif spec.extra.get('member_weights'):  # a zoo ensemble: each member's own file
        model.load_member_weights(spec.extra['member_weights'])
    return model.to(device).eval()
