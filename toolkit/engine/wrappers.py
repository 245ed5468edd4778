"""A model wrapper for distributed evaluation: no DistributedDataParallel, because there is nothing to synchronise.

MMEngine wraps every model in DDP when launched with several processes. Evaluation computes no gradients, and
DDP refuses models without trainable parameters outright (the non-learned baselines), so ``tools/test.py`` with
``--launcher`` uses this pass-through wrapper; the distributed sampler and the evaluator's result collection
(which drops the sampler's padding) do the distributed part.
"""
from __future__ import annotations

from torch import nn

from toolkit.registry import MODEL_WRAPPERS


@MODEL_WRAPPERS.register_module()
class EvaluationWrapper(nn.Module):
    """Holds ``module`` and forwards ``val_step``/``test_step``/``forward`` to it (MMEngine's wrapper interface)."""

    def __init__(self, module: nn.Module, **kwargs):
        super().__init__()
        self.module = module

    def val_step(self, data):
        return self.module.val_step(data)

    def test_step(self, data):
        return self.module.test_step(data)

    def train_step(self, data, optim_wrapper):
        raise RuntimeError('EvaluationWrapper is for evaluation; training runs use MMDistributedDataParallel')

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)
