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
