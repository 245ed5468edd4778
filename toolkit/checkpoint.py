"""Loading MMEngine checkpoints under ``torch.load(weights_only=True)``.

Since torch 2.6, ``torch.load`` refuses to unpickle anything but tensors and
primitive containers. MMEngine (0.10.x) checkpoints also store the message hub
(``HistoryBuffer`` objects holding numpy arrays), so ``--resume`` and
``tools/test.py CONFIG CHECKPOINT`` fail with ``Unsupported global: HistoryBuffer``.

Rather than falling back to ``weights_only=False`` (arbitrary code execution for
a malicious file), we keep the safe unpickler and allow exactly the data-only
types an MMEngine checkpoint contains. Importing this module

* replaces MMEngine's local-file loader (scheme ``''``) with :func:`load_local_checkpoint`;
* makes ``HistoryBuffer`` pickle without its class-level table of statistics
  functions, which plain MMEngine writes as ``getattr(HistoryBuffer, 'min')`` calls.
  Allow-listing ``getattr`` would let a crafted file call any attribute of an allowed
  type, so checkpoints written by HarmonyZoo simply do not contain it.

Checkpoints written by plain MMEngine (outside HarmonyZoo) still hold those calls;
set ``HARMONYZOO_TRUST_LOCAL_CHECKPOINTS=1`` to load such a file you trust with the
full unpickler.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader


def _numpy_safe_globals() -> list:
    """Numpy types that pickled scalars/arrays reference (their paths differ across numpy 1.x/2.x)."""
    allowed = [np.ndarray, np.dtype]
    for module_name in ('numpy._core.multiarray', 'numpy.core.multiarray'):
        try:
            module = __import__(module_name, fromlist=['_reconstruct', 'scalar'])
        except ImportError:
            continue
        allowed += [module._reconstruct, module.scalar]
        break
    # every concrete dtype class, e.g. numpy.dtypes.Float64DType
    allowed += [type(np.dtype(code)) for code in np.typecodes['All'] if code not in 'Mm']
    allowed += [type(np.dtype('datetime64[s]')), type(np.dtype('timedelta64[s]'))]
    return allowed


#: Types allowed in a checkpoint besides tensors and builtin containers.
CHECKPOINT_SAFE_GLOBALS = [HistoryBuffer, *_numpy_safe_globals()]
TRUST_ENV_VARIABLE = 'HARMONYZOO_TRUST_LOCAL_CHECKPOINTS'


def _history_buffer_getstate(self) -> dict:
    state = dict(self.__dict__)
    # a class-level registry of functions, rebuilt on import; never data
    state.pop('_statistics_methods', None)
    return state


HistoryBuffer.__getstate__ = _history_buffer_getstate


def safe_torch_load(filename, map_location=None):
    """``torch.load(weights_only=True)`` that also accepts MMEngine training state.

    Args:
        filename: path or file object of a ``.pth`` file.
        map_location: as in :func:`torch.load`.

    Raises:
        FileNotFoundError: the file does not exist.
        RuntimeError: the file holds an object outside the allow-list (the message names
            the file and the offending type).
    """
    if isinstance(filename, str) and not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    if os.environ.get(TRUST_ENV_VARIABLE) == '1':
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(CHECKPOINT_SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except Exception as error:
        if 'weights_only' in str(error) or 'Unsupported global' in str(error):
            raise RuntimeError(
                f'checkpoint {filename} contains objects that are not safe to unpickle; HarmonyZoo loads '
                f'only tensors, containers and MMEngine training state. If you wrote this file yourself with '
                f'plain MMEngine and trust it, set {TRUST_ENV_VARIABLE}=1. Original error: {error}') from error
        raise


def load_safetensors(filename: str, map_location=None) -> dict:
    """A ``.safetensors`` file as a flat state dict (tensors only; nothing is unpickled)."""
    from safetensors.torch import load_file
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} does not exist')
    device = map_location if isinstance(map_location, str) else 'cpu'
    return load_file(filename, device=device)


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_local_checkpoint(filename, map_location=None):
    """MMEngine scheme ``''`` (local paths): ``.safetensors`` files, or ``.pth`` through :func:`safe_torch_load`."""
    filename = osp.expanduser(filename)
    if filename.endswith('.safetensors'):
        return load_safetensors(filename, map_location)
    return safe_torch_load(filename, map_location=map_location)


def remap_state_dict(official, expected: dict, prefixes, source: str = 'checkpoint', model_name: str = 'model',
                     dropped=(), transforms: Optional[dict] = None) -> dict:
    """Rename the keys of a released state dict by prefix and check it fills ``expected`` exactly.

    Args:
        official: the released state dict; a DataParallel ``module.`` prefix is stripped.
        expected: ``{key: shape}`` of the target model (``model.state_dict()``).
        prefixes: ``(released prefix, target prefix or list of target prefixes)`` pairs; the longest
            matching prefix wins. A list writes the same tensor under several keys (a module shared by two
            attributes appears twice in a state dict).
        dropped: released key prefixes deliberately not converted (modules the released forward never uses).
        transforms: ``{target key: function(tensor) → tensor}`` for layouts that differ (applied before the
            shape check).

    Returns:
        A state dict that ``load_state_dict(..., strict=True)`` accepts.

    Raises:
        KeyError: listing every released key with no counterpart, every target key left unfilled and every
            shape mismatch, in one message.

    Example:
        >>> official = {'module.body.0.weight': torch.ones(2, 3)}
        >>> remap_state_dict(official, {'layers.0.weight': (2, 3)}, [('body.0.', 'layers.0.')])['layers.0.weight'].shape
        torch.Size([2, 3])
    """
    transforms = transforms or {}
    ordered = sorted(prefixes, key=lambda pair: -len(pair[0]))
    converted, unexpected, mismatched = {}, [], []
    for key, value in official.items():
        key = key[len('module.'):] if key.startswith('module.') else key
        if any(key.startswith(prefix) for prefix in dropped):
            continue
        match = next(((old, new) for old, new in ordered if key.startswith(old)), None)
        targets = [] if match is None else [new + key[len(match[0]):] for new in
                                            ([match[1]] if isinstance(match[1], str) else match[1])]
        if not targets or any(target not in expected for target in targets):
            unexpected.append(key)
            continue
        for target in targets:
            tensor = transforms[target](value) if target in transforms else value
            if tuple(tensor.shape) != tuple(expected[target]):
                mismatched.append(f'{key} {tuple(value.shape)} -> {target} expects {tuple(expected[target])}')
            else:
                converted[target] = tensor
    missing = sorted(set(expected) - set(converted) - {key for key in expected if key.endswith('num_batches_tracked')})
    if unexpected or missing or mismatched:
        lines = [f'{source} does not match the {model_name}:']
        if missing:
            lines.append(f'  missing ({len(missing)}): ' + ', '.join(missing))
        if unexpected:
            lines.append(f'  unexpected ({len(unexpected)}): ' + ', '.join(unexpected))
        if mismatched:
            lines.append(f'  shape mismatch ({len(mismatched)}): ' + '; '.join(mismatched))
        raise KeyError('\n'.join(lines))
    return converted


def read_released_state_dict(source: str) -> dict:
    """A released ``.pth`` read with ``torch.load(weights_only=True)`` (tensors and containers only), unwrapped
    from a ``{'state_dict': ...}`` checkpoint when it is one.

    Raises:
        FileNotFoundError: the file does not exist.
    """
    if not osp.isfile(source):
        raise FileNotFoundError(f'{source}: checkpoint does not exist')
    official = torch.load(source, map_location='cpu', weights_only=True)
    if isinstance(official, dict) and isinstance(official.get('state_dict'), dict):
        official = official['state_dict']
    return official


def save_converted(state: dict, destination: str, source: str, **metadata: str) -> None:
    """Write a converted state dict as ``.safetensors`` (each tensor stored once, contiguous), recording the
    source file's name and ``metadata``."""
    from safetensors.torch import save_file
    tensors = {key: value.contiguous().clone() for key, value in state.items()}
    save_file(tensors, destination, metadata={'format': 'pt', 'converted_from': osp.basename(source),
                                              **{key: str(value) for key, value in metadata.items()}})
