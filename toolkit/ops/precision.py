"""Keeping numerically delicate operations in float32 under mixed precision (``--amp``).

Autocast runs convolutions and matrix products in bfloat16/float16. Region statistics (a variance is a
small difference of large sums), softmaxes over many logits and normalised embeddings lose most of
their digits there, so the functions that compute them are wrapped with :func:`float32_op`: autocast is
switched off inside and floating-point tensor arguments are upcast to float32.
"""
from __future__ import annotations

import functools

import torch


def _upcast(value):
    if isinstance(value, torch.Tensor) and value.is_floating_point() and value.dtype != torch.float64:
        return value.float()
    return value


def float32_op(function):
    """Decorator: run ``function`` with autocast disabled and its floating-point tensor arguments in float32.

    Example:
        >>> @float32_op
        ... def variance(x): return x.var()
        >>> x = torch.tensor([1.0, 1.0078125], dtype=torch.bfloat16)   # exactly representable in bfloat16
        >>> with torch.autocast('cpu', dtype=torch.bfloat16):
        ...     value = variance(x)
        >>> value.dtype, float(value)
        (torch.float32, 3.0517578125e-05)
    """
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        devices = {value.device.type for value in (*args, *kwargs.values()) if isinstance(value, torch.Tensor)}
        args = tuple(_upcast(value) for value in args)
        kwargs = {key: _upcast(value) for key, value in kwargs.items()}
        if not any(torch.is_autocast_enabled(device) for device in devices or {'cpu'}):
            return function(*args, **kwargs)
        with torch.autocast(next(iter(devices or {'cpu'})), enabled=False):
            return function(*args, **kwargs)
    return wrapper
