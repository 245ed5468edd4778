"""Pretrained weights from the Hugging Face Hub: pinned, verified, never unpickled.

* Every released file is named by repo id, a **commit hash** revision (never a branch), a filename,
  its sha256 and its size (the model-zoo index holds these; see ``model-index.yml``).
* :func:`download_weights` uses ``huggingface_hub`` (its cache, ``HF_HUB_CACHE``, ``HF_HUB_OFFLINE``,
  ``local_files_only``, resumable downloads), then checks the sha256 before anything reads the file.
* :func:`load_state_dict_file` reads ``.safetensors`` (tensors only) or, for legacy files, ``.pth``
  with ``torch.load(weights_only=True)``. Nothing downloaded is ever unpickled beyond tensors.
* :func:`load_weights` is strict: it lists every missing and unexpected key and shape mismatch.
* ``load_from = 'hf://org/repo@<commit>/model.safetensors'`` works in any config: the scheme is
  registered by :mod:`toolkit.zoo`, the layer above, which knows the expected checksums.

Errors are :class:`HubError` with a message that says which file and what to do.
"""
from __future__ import annotations

import hashlib
import os
import os.path as osp
import re
import warnings
from dataclasses import asdict, dataclass
from typing import Mapping, Optional

import torch

COMMIT_HASH = re.compile(r'^[0-9a-f]{40}$')
HF_URI = re.compile(r'^hf://(?P<repo>[^/@]+/[^/@]+)@(?P<revision>[^/]+)/(?P<filename>.+)$')


class HubError(RuntimeError):
    """A download, verification or loading problem, with the file and the remedy in the message."""


class WeightsMismatchError(HubError):
    """A state dict that does not fit the model (missing/unexpected keys, shape mismatches)."""


@dataclass(frozen=True)
class HubWeights:
    """One released weights file on the Hub."""
    repo_id: str
    revision: str
    filename: str
    sha256: Optional[str] = None
    size: Optional[int] = None

    def __post_init__(self):
        if not COMMIT_HASH.match(self.revision):
            raise HubError(f'{self.repo_id}/{self.filename}: revision {self.revision!r} is not a 40-character commit '
                           'hash; released weights are pinned to a commit, never a branch or tag')
        if self.sha256 is not None and not re.fullmatch(r'[0-9a-f]{64}', self.sha256):
            raise HubError(f'{self.repo_id}/{self.filename}: sha256 {self.sha256!r} is not a hex digest')

    @property
    def uri(self) -> str:
        return f'hf://{self.repo_id}@{self.revision}/{self.filename}'

    def to_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}

    @classmethod
    def from_uri(cls, uri: str, sha256: Optional[str] = None, size: Optional[int] = None) -> 'HubWeights':
        match = HF_URI.match(uri)
        if not match:
            raise HubError(f'{uri}: expected hf://<org>/<repo>@<commit hash>/<file>')
        return cls(match['repo'], match['revision'], match['filename'], sha256, size)


def file_sha256(path: str, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as handle:
        for block in iter(lambda: handle.read(chunk), b''):
            digest.update(block)
    return digest.hexdigest()


def file_signature(path: str) -> list[int]:
    """``[size, mtime_ns, ctime_ns, inode]`` of a file: equal signatures mean unchanged content, so a digest or a
    parsed copy keyed on it can be reused.

    Size and mtime alone cannot be trusted: a file rewritten with other content of the same size can get its old
    mtime back (``rsync -t``, ``touch -r``, a restore from backup). The status-change time cannot be set that way
    (every write and every ``utime`` call moves it to *now*) and the inode changes when a file is replaced — the
    rule git uses for its index.
    """
    status = os.stat(path)
    return [status.st_size, status.st_mtime_ns, status.st_ctime_ns, status.st_ino]


def _cache_description(cache_dir: Optional[str]) -> str:
    from huggingface_hub import constants
    return cache_dir or constants.HF_HUB_CACHE


def is_network_error(error: BaseException) -> bool:
    """Connection refused, DNS failure, timeout, TLS error: the HTTP client's transport errors (``httpx`` —
    not ``OSError`` subclasses) and the ``OSError`` ones."""
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(names & {'TransportError', 'ConnectError', 'TimeoutException', 'NetworkError', 'ProxyError',
                         'ConnectionError', 'TimeoutError', 'SSLError'})


def _network_message(endpoint: str, error: BaseException) -> str:
    return (f'cannot reach {endpoint} ({type(error).__name__}: {" ".join(str(error).split()) or "no answer"}); '
            'check the network or proxy, or work offline (HF_HUB_OFFLINE=1) with the file already in the cache')


def _probe(weights: HubWeights) -> None:
    """One HEAD request, no retries: fail in seconds when the Hub is unreachable (huggingface_hub itself retries
    connection errors with back-off for ~25 s before giving up)."""
    from huggingface_hub import constants, get_hf_file_metadata, hf_hub_url
    try:
        get_hf_file_metadata(hf_hub_url(weights.repo_id, weights.filename, revision=weights.revision),
                             retry_on_errors=False)
    except Exception as error:  # noqa: BLE001  (only transport failures are handled here)
        if is_network_error(error):
            raise HubError(f'{weights.repo_id}/{weights.filename}: ' + _network_message(constants.ENDPOINT, error)) \
                from error
        # an HTTP answer (404, 401, …): let hf_hub_download raise its specific error below


def download_weights(weights: HubWeights, cache_dir: Optional[str] = None,
                     local_files_only: Optional[bool] = None) -> str:
    """Download (or find in the cache) a released file and verify its sha256; returns the local path.

    Args:
        cache_dir: the huggingface_hub cache (default ``HF_HUB_CACHE``).
        local_files_only: never touch the network (``HF_HUB_OFFLINE=1`` implies it).

    Raises:
        HubError: offline with the file not cached, repository/revision/file not found, network
            failure, or a checksum mismatch (the bad blob is deleted so the next call downloads again).
    """
    from huggingface_hub import constants, hf_hub_download
    from huggingface_hub.errors import (
        EntryNotFoundError,
        LocalEntryNotFoundError,
        OfflineModeIsEnabled,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )
    offline = constants.is_offline_mode() if local_files_only is None else local_files_only
    name = f'{weights.repo_id}@{weights.revision[:12]}/{weights.filename}'
    try:
        if not offline:
            try:  # a pinned file already in the cache needs no network at all
                path = hf_hub_download(weights.repo_id, weights.filename, revision=weights.revision,
                                       cache_dir=cache_dir, local_files_only=True)
            except (LocalEntryNotFoundError, OfflineModeIsEnabled):
                _probe(weights)
        path = hf_hub_download(weights.repo_id, weights.filename, revision=weights.revision, cache_dir=cache_dir,
                               local_files_only=offline)
    except (LocalEntryNotFoundError, OfflineModeIsEnabled) as error:
        raise HubError(
            f'{name} is not in the local cache ({_cache_description(cache_dir)}) and downloads are off '
            f'(offline mode or no connection). Download it on a connected machine with `harmony download <model>` '
            f'or `huggingface-cli download {weights.repo_id} {weights.filename} --revision {weights.revision}`, '
            f'then copy the cache folder or point HF_HUB_CACHE at it.') from error
    except RevisionNotFoundError as error:
        raise HubError(f'{name}: revision {weights.revision} does not exist in {weights.repo_id} '
                       '(the model-zoo entry is wrong or the commit was removed)') from error
    except RepositoryNotFoundError as error:
        raise HubError(f'{name}: repository {weights.repo_id} not found (or private: log in with '
                       '`huggingface-cli login`)') from error
    except EntryNotFoundError as error:
        raise HubError(f'{name}: no file {weights.filename} at revision {weights.revision}') from error
    except HubError:
        raise
    except Exception as error:  # noqa: BLE001  (transport errors are not OSErrors in httpx)
        if not (isinstance(error, OSError) or is_network_error(error)):
            raise
        if is_network_error(error):
            raise HubError(f'{name}: {_network_message(constants.ENDPOINT, error)}; run again to resume') from error
        raise HubError(f'{name}: download failed ({type(error).__name__}: {error}); run again to resume') from error
    if weights.size is not None and osp.getsize(path) != weights.size:
        _discard(path)
        raise HubError(f'{name}: size {osp.getsize(path)} bytes, expected {weights.size}; the cached blob was deleted, '
                       'run again to download it afresh')
    if weights.sha256 is not None:
        actual = file_sha256(path)
        if actual != weights.sha256:
            _discard(path)
            raise HubError(f'{name}: sha256 {actual} does not match the expected {weights.sha256}; the corrupt '
                           'cached blob was deleted, run again to download it afresh')
    return path


def resolve_revision(repo_id: str, ref: str = 'main') -> str:
    """The commit hash a branch or tag of ``repo_id`` points at now (to pin it).

    Raises:
        HubError: offline, or the repository/ref does not exist.
    """
    from huggingface_hub import HfApi, constants
    from huggingface_hub.errors import RepositoryNotFoundError, RevisionNotFoundError
    if constants.is_offline_mode():
        raise HubError(f'{repo_id}: cannot resolve {ref!r} to a commit while offline (HF_HUB_OFFLINE=1); pin the '
                       'revision (a 40-character commit hash) in the config')
    try:
        return HfApi().model_info(repo_id, revision=ref).sha
    except RevisionNotFoundError as error:
        raise HubError(f'{repo_id}: no branch or tag {ref!r}') from error
    except RepositoryNotFoundError as error:
        raise HubError(f'{repo_id}: repository not found') from error
    except Exception as error:  # noqa: BLE001  (transport errors are not OSErrors in httpx)
        if isinstance(error, OSError) or is_network_error(error):
            raise HubError(f'{repo_id}: cannot resolve {ref!r} to a commit: '
                           + _network_message(constants.ENDPOINT, error)) from error
        raise


def _discard(path: str) -> None:
    """Remove a cached file: the blob behind the snapshot symlink, and the link."""
    blob = osp.realpath(path)
    for target in {blob, path}:
        try:
            os.remove(target)
        except FileNotFoundError:
            pass


def load_state_dict_file(path: str, map_location='cpu') -> dict:
    """A state dict from ``.safetensors`` (preferred) or a ``.pth``: a plain state dict or an MMEngine training
    checkpoint (its ``state_dict`` is taken), read by :func:`toolkit.checkpoint.safe_torch_load`, i.e.
    ``weights_only=True`` with only MMEngine's data-only training-state types allowed."""
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        try:
            return load_file(path, device=map_location if isinstance(map_location, str) else 'cpu')
        except Exception as error:
            raise HubError(f'{path}: not a readable safetensors file ({error})') from error
    from toolkit.checkpoint import safe_torch_load
    try:
        state = safe_torch_load(path, map_location=map_location)
    except Exception as error:
        raise HubError(f'{path}: cannot be read with torch.load(weights_only=True): {error}') from error
    if isinstance(state, dict) and isinstance(state.get('state_dict'), dict):
        state = state['state_dict']
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise HubError(f'{path}: expected a state dict of tensors')
    return state


def check_state_dict(model: torch.nn.Module, state_dict: Mapping[str, torch.Tensor], source: str) -> None:
    """Raise :class:`WeightsMismatchError` listing missing/unexpected keys and shape mismatches."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mismatched = [f'{key}: file {tuple(state_dict[key].shape)} vs model {tuple(expected[key].shape)}'
                  for key in sorted(set(expected) & set(state_dict))
                  if tuple(state_dict[key].shape) != tuple(expected[key].shape)]
    if missing or unexpected or mismatched:
        lines = [f'{source} does not fit {type(model).__name__}:']
        if missing:
            more = ' …' if len(missing) > 20 else ''
            lines.append(f'  missing keys ({len(missing)}): ' + ', '.join(missing[:20]) + more)
        if unexpected:
            lines.append(f'  unexpected keys ({len(unexpected)}): ' + ', '.join(unexpected[:20])
                         + (' …' if len(unexpected) > 20 else ''))
        if mismatched:
            lines.append(f'  shape mismatches ({len(mismatched)}): ' + '; '.join(mismatched[:20]))
        raise WeightsMismatchError('\n'.join(lines))


def load_weights(model: torch.nn.Module, path: str) -> torch.nn.Module:
    """Strictly load a weights file into ``model`` (see :func:`check_state_dict`)."""
    state_dict = load_state_dict_file(path)
    check_state_dict(model, state_dict, path)
    model.load_state_dict(state_dict, strict=True)
    return model


def hub_file(weights: dict, filename: str, what: str, cache_dir: Optional[str] = None) -> tuple[str, str]:
    """``filename`` of ``weights['repo_id']`` at its pinned revision (resolving ``None`` once), checked against
    ``weights['sha256'][filename]`` when given; or the local file ``weights['path']`` (converted weights you
    hold; its revision is reported as ``'local'``). A pinned file already cached needs no network."""
    if weights.get('path'):
        path = osp.expanduser(weights['path'])
        if filename.endswith('.json'):  # a model's config.json lies beside its weights
            path = osp.join(osp.dirname(path), filename)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{what}: weights file {path} does not exist')
        return path, 'local'
    revision = weights.get('revision')
    if revision is None:
        revision = resolve_revision(weights['repo_id'])
        warnings.warn(f'{what}: no revision pinned for {weights["repo_id"]}; using main = {revision}. Pin it in the '
                      f'config (revision={revision!r}) so every run loads the same weights.', stacklevel=3)
    sha256 = (weights.get('sha256') or {}).get(filename) if isinstance(weights.get('sha256'), dict) else None
    path = download_weights(HubWeights(weights['repo_id'], revision, filename, sha256=sha256), cache_dir=cache_dir)
    return path, revision
