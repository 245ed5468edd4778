"""The identity probe: can a network pass a composite through unchanged?

A harmonizer must leave a composite that already fits alone, and must keep the foreground's texture whatever
colour it gives it. Both need the network to reproduce its input. The probe trains a config's model from
scratch on identity pairs (composite = real image: the real photos and masks of the config's training set) and
reports how far its output stays from the input. A residual network (``composite + correction``) starts near
zero error; one that outputs the image itself (the region-wise contrastive network, as published) must first
learn to rebuild texture through its bottleneck: until that error is small, its harmonization numbers measure
reconstruction, not harmony (docs/clharmony.md, "Identity probe").

Example:
    >>> import torch
    >>> real = torch.zeros(1, 3, 4, 4)
    >>> output = real.clone(); output[..., :2, :] += 2 / 127.5  # two levels too bright on the top half
    >>> mask = torch.zeros(1, 1, 4, 4); mask[..., :2, :2] = 1
    >>> round(foreground_error_levels(output, real, mask), 6)
    2.0
"""
from __future__ import annotations

import time
from typing import Callable, Optional

import torch
from torch import Tensor


def foreground_error_levels(output: Tensor, real: Tensor, mask: Tensor, scale: float = 127.5) -> float:
    """Mean absolute error over the foreground, in grey levels (0–255).

    Args:
        output, real: ``(B, 3, H, W)`` normalised images (``scale`` levels per unit, [-1, 1] by default).
        mask: ``(B, 1, H, W)`` foreground in [0, 1] (soft masks weight pixels).
    """
    if output.shape != real.shape or mask.shape[:1] + mask.shape[2:] != real.shape[:1] + real.shape[2:]:
        raise ValueError(f'shapes differ: output {tuple(output.shape)}, real {tuple(real.shape)}, '
                         f'mask {tuple(mask.shape)}')
    weight = mask.expand_as(real)
    total = weight.sum()
    if total <= 0:
        raise ValueError('the masks are empty: no foreground to measure')
    return float((output - real).abs().mul(weight).sum() / total * scale)


def identity_probe(config: str, iterations: int = 200, batch_size: int = 4, crop: int = 128,
                   log_interval: int = 25, seed: int = 0, cfg_options: Optional[dict] = None,
                   progress: Optional[Callable[[dict], None]] = None) -> list[dict]:
    """Train ``config``'s model from scratch on identity pairs; returns one record per ``log_interval``.

    Each record: ``iteration``, ``loss`` (the config's total training loss on that batch), ``fg_error``
    (foreground mean absolute error in levels on that batch, before the step) and ``seconds`` since the start.
    The optimizer is the config's (``optim_wrapper.optimizer``); photos are cropped at random to ``crop`` px
    (the real photos and masks of the config's training dataset, composites ignored).
    """
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DefaultScope

    from toolkit.config import read_config
    from toolkit.models.builder import build_model_from_config
    from toolkit.registry import DATASETS, OPTIMIZERS

    torch.manual_seed(seed)
    cfg = read_config(config, cfg_options)
    model, cfg = build_model_from_config(cfg)
    model.train()
    pipeline = [dict(type='LoadHarmonizationImages'),
                dict(type='RandomResizedCrop', size=crop, scale=(0.5, 1.0)),
                dict(type='BinarizeMask', threshold=0.5),
                dict(type='PackHarmonizationInputs')]
    dataset_cfg = cfg.train_dataloader.dataset.to_dict()
    for part in dataset_cfg['datasets'] if dataset_cfg.get('type') == 'ConcatDataset' else [dataset_cfg]:
        part['pipeline'] = pipeline
    with DefaultScope.overwrite_default_scope('toolkit'):
        dataset = DATASETS.build(dataset_cfg)
        optimizer = OPTIMIZERS.build(dict(cfg.optim_wrapper.optimizer.to_dict(), params=model.parameters()))
    generator = torch.Generator().manual_seed(seed)
    records, start = [], time.perf_counter()
    for iteration in range(1, iterations + 1):
        batch = []
        for pick in torch.randint(len(dataset), (batch_size,), generator=generator).tolist():
            sample = dataset[pick]
            sample['inputs']['composite'] = sample['data_samples'].gt_img.clone()  # the identity pair
            batch.append(sample)
        data = model.data_preprocessor(pseudo_collate(batch), training=True)
        inputs = data['inputs']
        losses = model.loss(inputs, data['data_samples'])
        loss, _ = model.parse_losses(losses)
        if iteration == 1 or iteration % log_interval == 0 or iteration == iterations:
            with torch.no_grad():
                output = model(inputs, mode='tensor')
                real = model.data_preprocessor.stack_gt(data['data_samples'])
            record = dict(iteration=iteration, loss=float(loss.detach()),
                          fg_error=foreground_error_levels(output, real, inputs['mask']),
                          seconds=time.perf_counter() - start)
            records.append(record)
            if progress is not None:
                progress(record)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return records
