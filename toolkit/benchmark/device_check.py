"""One command to check a machine with a GPU: mixed precision per family, a short training, efficiency, retrieval.

``python tools/device_check.py --out DIR`` runs, within a few minutes on one GPU:

1. **AMP training steps per family** (UNet, RainNet, the contrastive network, Raiha, colour curves): one step from
   the same weights and batch in float32, float16 autocast (with loss scaling) and bfloat16 autocast; every loss
   and gradient must be finite and each loss within ``amp_tolerance`` (relative) of float32.
2. **2-process DDP**: with ≥ 2 GPUs, ``tools/dist_train.sh`` on two of them; NCCL cannot put two ranks on one GPU,
   so with one GPU this is reported as skipped (the CPU/gloo path is tested in CI).
3. **A short training of the default model** (colour curves) on the bundled samples: iterations per second and
   the loss at start and end.
4. **Efficiency** (``tools/benchmark.py --no-quality``) of every zoo model with weights and the baselines at batch
   1, 8 and 32: latency, throughput, peak memory, fraction of the measured matmul rate.
5. **Retrieval encoder throughput** (DINOv2-B/14 at 448², random weights: same compute).

Everything that needs CUDA is skipped, with the reason, on a machine without it, so the logic runs (and is
tested) on CPU. The report is ``device_check.json`` and ``device_check.md`` in ``DIR``.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time
from typing import Optional, Sequence

import torch

from .efficiency import synchronize
from .train_step import _batch

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
FAMILY_CONFIGS = {
    'unet': 'configs/unet/unet-tiny_identity_adam-20i_samples-64.py',
    'rainnet': 'configs/rainnet/rainnet-tiny_l1_adam-40i_samples-256.py',
    'clharmony': 'configs/clharmony/clharmony-tiny_stylefusion-s2am_adamw-20i_samples-64.py',
    'raiha': 'configs/raiha/raiha-tiny_sgf_adam-20i_samples-64.py',
    'colorcurves': 'configs/colorcurves/colorcurves-tiny_adam-20i_samples-64.py',
}
FAMILY_RESOLUTION = dict(rainnet=256)  # RainNet's eight stride-2 levels need 256 px


def environment(device: str) -> dict:
    info = dict(python=platform.python_version(), torch=torch.__version__, device=device,
                cpu=platform.processor() or platform.machine(), cpu_count=os.cpu_count())
    if device.startswith('cuda'):
        properties = torch.cuda.get_device_properties(device)
        info.update(gpu=properties.name, gpu_memory_gib=round(properties.total_memory / 2 ** 30, 1),
                    cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version())
    return info


def _autocast(device: str, dtype: Optional[torch.dtype]):
    if dtype is None:
        return torch.autocast(device.split(':')[0], enabled=False)
    return torch.autocast(device.split(':')[0], dtype=dtype)


def amp_step(config: str, device: str, dtype: Optional[torch.dtype], batch_size: int = 2,
             resolution: int = 64) -> dict:
    """Loss and gradient norm of one training step (from fixed weights and batch) under ``dtype`` autocast."""
    from toolkit.models import build_model_from_config
    torch.manual_seed(0)
    model = build_model_from_config(config)[0].to(device).train()
    data = model.data_preprocessor(_batch(batch_size, resolution), training=True)
    scaler = torch.amp.GradScaler(device.split(':')[0]) if dtype == torch.float16 else None
    generator_state = torch.random.get_rng_state()
    with _autocast(device, dtype):
        losses = model(**data, mode='loss')
    torch.random.set_rng_state(generator_state)
    total = sum(losses.values())
    (scaler.scale(total) if scaler else total).backward()
    if scaler:
        scaler.unscale_(torch.optim.SGD(model.parameters(), lr=0.0))
    gradients = [p.grad for p in model.parameters() if p.grad is not None]
    gradient_norm = float(torch.linalg.vector_norm(torch.stack([g.float().norm() for g in gradients])))
    return dict(loss=float(total.detach()), losses={k: float(v.detach()) for k, v in losses.items()},
                grad_norm=gradient_norm, finite=bool(torch.isfinite(total).item()) and all(
                    torch.isfinite(g).all() for g in gradients))


def check_amp(device: str, families: Sequence[str] = tuple(FAMILY_CONFIGS), tolerance: float = 0.05) -> dict:
    """Per family: float32, float16 (CUDA only) and bfloat16 steps, finiteness and relative loss difference."""
    precisions = {'float32': None, 'bfloat16': torch.bfloat16}
    if device.startswith('cuda'):
        precisions['float16'] = torch.float16
    results = {}
    for family in families:
        config = osp.join(REPO_ROOT, FAMILY_CONFIGS[family])
        resolution = FAMILY_RESOLUTION.get(family, 64)
        rows = {name: amp_step(config, device, dtype, resolution=resolution) for name, dtype in precisions.items()}
        reference = rows['float32']['loss']
        for row in rows.values():
            row['relative_loss_difference'] = abs(row['loss'] - reference) / max(abs(reference), 1e-12)
            row['ok'] = row['finite'] and row['relative_loss_difference'] <= tolerance
        results[family] = rows
    skipped = None if device.startswith('cuda') else 'float16 autocast needs CUDA (CPU checks bfloat16 only)'
    return dict(tolerance=tolerance, families=results, skipped=skipped,
                ok=all(row['ok'] for rows in results.values() for row in rows.values()))


def check_ddp(device: str, work_dir: str, timeout: int = 300) -> dict:
    """Two processes on two GPUs through ``tools/dist_train.sh`` (skipped with fewer than two GPUs)."""
    if not device.startswith('cuda'):
        return dict(skipped='no CUDA: the 2-process CPU/gloo path is covered by the test suite')
    if torch.cuda.device_count() < 2:
        return dict(skipped='one GPU: NCCL cannot place two ranks on one device (CPU/gloo covered by the tests)')
    start = time.perf_counter()
    result = subprocess.run(['bash', osp.join(REPO_ROOT, 'tools', 'dist_train.sh'),
                             osp.join(REPO_ROOT, FAMILY_CONFIGS['unet']), '2', '--work-dir', work_dir],
                            capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, PYTHON=sys.executable))
    return dict(returncode=result.returncode, seconds=time.perf_counter() - start, ok=result.returncode == 0,
                tail=(result.stdout + result.stderr)[-2000:] if result.returncode else '')


def short_training(device: str, work_dir: str, iterations: int = 200) -> dict:
    """The default model's own config (an ensemble's first member's: an ensemble is not trained as a whole), on the
    bundled samples (256 px, its batch size) for ``iterations``: speed and loss trend (the training data itself is
    not on a fresh machine)."""
    from toolkit.engine.launch import train
    from toolkit.zoo import EnsembleWeights, default_model_name, get_model_info
    default = get_model_info(default_model_name())
    if isinstance(default.weights, EnsembleWeights):
        default = get_model_info(default.weights.members[0])
    config = default.config
    samples = osp.join(REPO_ROOT, 'data', 'samples')
    options = {'train_cfg.max_iters': iterations, 'train_cfg.val_interval': iterations,
               'default_hooks.checkpoint.interval': iterations, 'log_level': 'WARNING', 'param_scheduler': [],
               'train_dataloader.dataset.data_root': samples, 'val_dataloader.dataset.data_root': samples,
               'test_dataloader.dataset.data_root': samples,
               'load_from': None}  # speed and loss trend: a later stage's warm start is not needed for that
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        options.update({f'{loader}.num_workers': 0, f'{loader}.persistent_workers': False})
    from toolkit.config import read_config
    dataset = read_config(config).train_dataloader.dataset
    if dataset.type == 'ConcatDataset':  # a mix of training sets (a later stage's data): one set, the samples
        first = dataset.datasets[0].to_dict()
        del options['train_dataloader.dataset.data_root']
        options['train_dataloader.dataset'] = dict(_delete_=True, type=first['type'], data_root=samples,
                                                   split=first.get('split', 'train'), pipeline=first['pipeline'])
    start = time.perf_counter()
    runner = train(config, work_dir=work_dir, cfg_options=options)
    synchronize(device)
    seconds = time.perf_counter() - start
    losses = runner.message_hub.get_scalar('train/loss').data[0].tolist()
    return dict(config=osp.relpath(config, REPO_ROOT), iterations=iterations, seconds=seconds,
                iterations_per_s=iterations / seconds, first_losses=losses[:5], last_losses=losses[-5:])


def efficiency(device: str, work_dir: str, batches: Sequence[int], models: Optional[Sequence[str]] = None,
               repeats: int = 5) -> dict:
    from toolkit.zoo import load_index

    from .runner import run_benchmark
    if models is None:
        models = [name for name, model in load_index().items() if model.weights is not None or not model.learned]
    result = run_benchmark(models, None, work_dir, quality=False, device=device, latency_batches=batches,
                           flops_resolutions=(256,), warmup=2, repeats=repeats)
    return dict(machine=result['machine'], models=[dict(name=m['name'], efficiency=m['efficiency'])
                                                   for m in result['models']])


def retrieval_throughput(device: str, batch_sizes: Sequence[int]) -> dict:
    from .retrieval import encoder_throughput
    return {str(batch): encoder_throughput(batch_size=batch, batches=2, device=device) for batch in batch_sizes}


def run_device_check(out_dir: str, device: Optional[str] = None, quick: bool = False) -> dict:
    """Run every check (CUDA-only parts skipped without CUDA), write ``device_check.{json,md}``; returns the report.

    ``quick`` shrinks each check (tests, or a first look): fewer families, iterations, batches and models.
    """
    from toolkit.device import resolve_device
    from toolkit.registry import load_plugins
    load_plugins()  # the models it times come from plugins; the registries find the core modules themselves
    device = resolve_device(device)
    os.makedirs(out_dir, exist_ok=True)
    started = time.perf_counter()
    report = dict(environment=environment(device), checks={})

    def timed(name, function, *args, **kwargs):
        start = time.perf_counter()
        try:
            report['checks'][name] = function(*args, **kwargs)
        except Exception as error:  # noqa: BLE001  (one failing check must not hide the others)
            report['checks'][name] = dict(error=f'{type(error).__name__}: {error}', ok=False)
        report['checks'][name]['seconds_total'] = time.perf_counter() - start

    families = ('unet', 'colorcurves') if quick else tuple(FAMILY_CONFIGS)
    timed('amp', check_amp, device, families)
    timed('ddp', check_ddp, device, osp.join(out_dir, 'ddp'))
    timed('short_training', short_training, device, osp.join(out_dir, 'train'), 10 if quick else 300)
    timed('efficiency', efficiency, device, osp.join(out_dir, 'benchmark'), (1,) if quick else (1, 8, 32),
          ['reinhard-lab'] if quick else None, 2 if quick else 10)
    timed('retrieval_encoder', retrieval_throughput, device, (1,) if quick else (8, 32))
    report['seconds'] = time.perf_counter() - started
    with open(osp.join(out_dir, 'device_check.json'), 'w', encoding='utf-8') as handle:
        json.dump(report, handle, indent=2, default=str)
    with open(osp.join(out_dir, 'device_check.md'), 'w', encoding='utf-8') as handle:
        handle.write(to_markdown(report))
    return report


def to_markdown(report: dict) -> str:
    env = report['environment']
    lines = [f'# Device check: {env.get("gpu", "no GPU (" + env["device"] + ")")}', '',
             f'torch {env["torch"]}, CUDA {env.get("cuda", "—")}, Python {env["python"]}, {env["cpu_count"]} CPU '
             f'cores; {report.get("seconds", 0):.0f} s in all.', '']
    amp = report['checks'].get('amp', {})
    if 'families' in amp:
        lines += ['## Mixed-precision training step (same weights and batch)', '',
                  '| family | precision | loss | relative to float32 | grad norm | finite | ok |',
                  '|---|---|---:|---:|---:|---|---|']
        for family, rows in amp['families'].items():
            for name, row in rows.items():
                lines.append(f'| {family} | {name} | {row["loss"]:.5f} | {row["relative_loss_difference"]:.2e} | '
                             f'{row["grad_norm"]:.4g} | {row["finite"]} | {row["ok"]} |')
        if amp.get('skipped'):
            lines += ['', f'Skipped: {amp["skipped"]}.']
        lines.append('')
    ddp = report['checks'].get('ddp', {})
    lines += ['## 2-process DDP', '', f'Skipped: {ddp["skipped"]}.' if ddp.get('skipped') else
              f'return code {ddp.get("returncode")}, {ddp.get("seconds", 0):.1f} s', '']
    training = report['checks'].get('short_training', {})
    if 'iterations' in training:
        lines += ['## Short training of the default model (bundled samples)', '',
                  f'{training["iterations"]} iterations in {training["seconds"]:.1f} s '
                  f'({training["iterations_per_s"]:.1f} it/s); loss {training["first_losses"][:1]} → '
                  f'{training["last_losses"][-1:]}', '']
    eff = report['checks'].get('efficiency', {})
    if 'models' in eff:
        lines += ['## Efficiency (no quality pass)', '', '| model | batch | latency ms | images/s | peak memory MB | '
                  'matmul fraction |', '|---|---:|---:|---:|---:|---:|']
        for model in eff['models']:
            for row in model['efficiency'].get('latency', []):
                lines.append(f'| {model["name"]} | {row["batch"]} | {row["mean_ms"]:.2f} | {row["throughput"]:.1f} | '
                             f'{row["peak_memory_mb"] or float("nan"):.0f} | '
                             f'{row.get("fraction_of_matmul", float("nan")):.3f} |')
        lines.append('')
    encoder = report['checks'].get('retrieval_encoder', {})
    rows = {k: v for k, v in encoder.items() if isinstance(v, dict)}
    if rows:
        lines += ['## Retrieval encoder (DINOv2-B/14 at 448², random weights)', '', '| batch | images/s |',
                  '|---:|---:|'] + [f'| {batch} | {row["images_per_second"]:.2f} |'
                                     for batch, row in rows.items()] + ['']
    errors = [f'- {name}: {check["error"]}' for name, check in report['checks'].items() if 'error' in check]
    if errors:
        lines += ['## Errors', ''] + errors + ['']
    return '\n'.join(lines)
