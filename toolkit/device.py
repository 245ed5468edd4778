"""Turning a user's ``--device`` into a torch device string, with one clear line when it cannot be used."""
from __future__ import annotations

import re
from typing import Optional

_DEVICE = re.compile(r'^(cpu|cuda|mps)(:\d+)?$')


class DeviceError(ValueError):
    """A device that is spelled wrong or not available here; the message says which and what to use."""


def available_devices() -> list[str]:
    """The devices this machine can run on, as ``--device`` spells them (``cpu`` first)."""
    import torch
    devices = ['cpu']
    if torch.cuda.is_available():
        devices += ['cuda'] + [f'cuda:{index}' for index in range(torch.cuda.device_count())]
    if getattr(torch.backends, 'mps', None) is not None and torch.backends.mps.is_available():
        devices.append('mps')
    return devices


def resolve_device(device: Optional[str] = None) -> str:
    """``None``/``'auto'`` → ``'cuda'`` when available, else ``'cpu'``; otherwise checked and returned.

    Raises:
        DeviceError: unknown spelling (``'gpu'``), CUDA asked for on a build or machine without it, or a
            CUDA index beyond the visible devices.

    Example:
        >>> resolve_device('cpu')
        'cpu'
        >>> resolve_device('gpu')  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        toolkit.device.DeviceError: unknown device 'gpu': use cpu, cuda or cuda:N (available here: cpu...)
    """
    import torch
    if device in (None, '', 'auto'):
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    device = str(device).strip().lower()
    if not _DEVICE.match(device):
        raise DeviceError(f'unknown device {device!r}: use cpu, cuda or cuda:N (available here: '
                          f'{", ".join(available_devices())})')
    if device.startswith('cuda'):
        if torch.version.cuda is None:
            raise DeviceError(f'--device {device}: this PyTorch build ({torch.__version__}) has no CUDA support; '
                              'use --device cpu, or install a CUDA build of torch')
        if not torch.cuda.is_available():
            raise DeviceError(f'--device {device}: no CUDA device is available (driver or CUDA_VISIBLE_DEVICES); '
                              'use --device cpu')
        index = int(device.split(':')[1]) if ':' in device else 0
        if index >= torch.cuda.device_count():
            raise DeviceError(f'--device {device}: only {torch.cuda.device_count()} CUDA device(s) are visible')
    if device.startswith('mps') and not (getattr(torch.backends, 'mps', None) and torch.backends.mps.is_available()):
        raise DeviceError(f'--device {device}: Apple MPS is not available here; use --device cpu')
    return device
