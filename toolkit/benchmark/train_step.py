"""Training-step time of a config's model, and the share of one loss term in it (e.g. the contrastive loss)."""
from __future__ import annotations

import statistics
import time
from typing import Optional

import torch
from mmengine.registry import DefaultScope
from torch import nn

from .efficiency import synchronize


def _batch(batch_size: int, resolution: int):
    from toolkit.structures import HarmonizationDataSample
    generator = torch.Generator().manual_seed(0)
    composite = torch.randint(0, 256, (batch_size, 3, resolution, resolution), generator=generator, dtype=torch.uint8)
    mask = torch.zeros(batch_size, 1, resolution, resolution)
    mask[..., resolution // 4: 3 * resolution // 4, resolution // 4: 3 * resolution // 4] = 1
    samples = [HarmonizationDataSample(gt_img=torch.randint(0, 256, (3, resolution, resolution),
                                                             generator=generator, dtype=torch.uint8))
               for _ in range(batch_size)]
    return dict(inputs=dict(composite=composite, mask=mask), data_samples=samples)


def time_train_step(config: str, batch_size: int = 8, resolution: int = 256, device: str = 'cpu', steps: int = 3,
                    warmup: int = 1, amp: bool = False, drop_loss: Optional[str] = None) -> dict:
    """Mean ± std seconds of ``optimizer.zero_grad(); loss.backward(); optimizer.step()`` on a synthetic batch.

    Args:
        drop_loss: remove the loss with this ``loss_name`` first (to measure its share by difference).
    """
    from mmengine.optim import build_optim_wrapper

    from toolkit.models import build_model_from_config
    torch.manual_seed(0)
    model, cfg = build_model_from_config(config)
    model = model.to(device).train()
    if drop_loss:
        kept = [loss for loss in model.losses if loss.loss_name != drop_loss]
        if len(kept) == len(model.losses):
            raise ValueError(f'{config} has no loss named {drop_loss!r}')
        model.losses = nn.ModuleList(kept)
    wrapper_cfg = dict(cfg.optim_wrapper)
    if amp:
        wrapper_cfg.update(type='AmpOptimWrapper', loss_scale='dynamic')
    with DefaultScope.overwrite_default_scope('toolkit'):  # the optimizer types resolve in this scope
        optim_wrapper = build_optim_wrapper(model, wrapper_cfg)
    data = _batch(batch_size, resolution)
    times = []
    for step in range(warmup + steps):
        synchronize(device)
        start = time.perf_counter()
        model.train_step(data, optim_wrapper)
        synchronize(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return dict(mean_s=statistics.fmean(times), std_s=statistics.stdev(times) if len(times) > 1 else 0.0,
                steps=steps, batch_size=batch_size, resolution=resolution, device=str(device), amp=amp)


def loss_share(config: str, loss_name: str, **kwargs) -> dict:
    """Step time with and without ``loss_name``; ``share = (with − without) / with``."""
    with_loss = time_train_step(config, **kwargs)
    without = time_train_step(config, drop_loss=loss_name, **kwargs)
    return dict(with_loss=with_loss, without_loss=without, loss_name=loss_name,
                share=(with_loss['mean_s'] - without['mean_s']) / with_loss['mean_s'])


def time_loss_term(config: str, loss_name: str, batch_size: int = 8, resolution: int = 256, device: str = 'cpu',
                   steps: int = 10, warmup: int = 2) -> dict:
    """Forward + backward seconds of one loss term alone, on a prediction that requires grad (direct share)."""
    from toolkit.models import build_model_from_config
    model = build_model_from_config(config)[0].to(device)
    loss = next((term for term in model.losses if term.loss_name == loss_name), None)
    if loss is None:
        raise ValueError(f'{config} has no loss named {loss_name!r}')
    data = model.data_preprocessor(_batch(batch_size, resolution))
    target = model.data_preprocessor.stack_gt(data['data_samples'])
    times = []
    for step in range(warmup + steps):
        pred = data['inputs']['composite'].clone().requires_grad_(True)
        synchronize(device)
        start = time.perf_counter()
        loss(pred, target, data['inputs']['mask'], data['inputs']['composite']).backward()
        synchronize(device)
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return dict(mean_s=statistics.fmean(times), std_s=statistics.stdev(times) if len(times) > 1 else 0.0)
