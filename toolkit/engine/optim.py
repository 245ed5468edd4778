"""Mixed precision on the CPU: MMEngine's ``AmpOptimWrapper`` is CUDA/NPU-only, so ``--amp`` on a CPU uses this.

bfloat16 keeps float32's exponent range, so no loss scaling is needed (unlike float16): the wrapper only runs
the forward pass under ``torch.autocast('cpu', dtype=torch.bfloat16)``. Parameters, gradients and the
optimizer state stay float32. Numerically delicate operations (masked variances, the contrastive loss's
softmax, SGF's attention) force float32 inside autocast themselves (:func:`toolkit.ops.float32_region`).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from mmengine.optim import OptimWrapper

from toolkit.registry import OPTIM_WRAPPERS


def cpu_bfloat16_supported() -> bool:
    """Whether this torch build runs bfloat16 autocast on the CPU (every 2.x build; checked, not assumed)."""
    try:
        with torch.autocast('cpu', dtype=torch.bfloat16):
            return torch.mm(torch.ones(2, 2), torch.ones(2, 2)).dtype == torch.bfloat16
    except (RuntimeError, TypeError):
        return False


@OPTIM_WRAPPERS.register_module()
class CPUAmpOptimWrapper(OptimWrapper):
    """``OptimWrapper`` whose forward pass runs under CPU bfloat16 autocast (``dtype`` may also be float16)."""

    def __init__(self, dtype: str = 'bfloat16', **kwargs):
        super().__init__(**kwargs)
        self.cast_dtype = getattr(torch, dtype) if isinstance(dtype, str) else dtype

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        with super().optim_context(model), torch.autocast('cpu', dtype=self.cast_dtype):
            yield
