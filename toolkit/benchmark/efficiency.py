"""Parameters, FLOPs (MMEngine's FlopAnalyzer), latency, throughput and peak memory, plus the machine's matmul rate.

Conventions (docs/benchmark.md):

* **FLOPs** are what :class:`mmengine.analysis.FlopAnalyzer` counts: one multiply-accumulate of a
  convolution, linear layer, matmul/einsum or normalisation = 1 "flop" (i.e. MACs). Element-wise
  ops (add, mul, activations, ...) and anything outside PyTorch (NumPy code) are not counted; each
  result lists the uncounted operators.
* **Latency** is wall time of ``model(inputs, mode='tensor')`` under ``torch.no_grad()`` after
  warm-up, with ``torch.cuda.synchronize()`` around every run on GPU; mean ± std over repeats.
* **Peak memory** is the CUDA allocator's peak on GPU; on CPU the process's peak resident set
  size during the timed runs (reset through ``/proc/self/clear_refs`` where Linux allows), which
  includes the Python runtime and the weights.
* **Achieved FLOP/s** = 2·MACs·batch / latency, compared with the measured dense matmul rate.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Optional, Sequence

import torch
from torch import nn


class _TensorAdapter(nn.Module):
    """``forward(composite, mask)`` for tracing; harmonizers take a dict."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, composite, mask):
        return self.model(dict(composite=composite, mask=mask), None, 'tensor')


def _inputs(batch: int, resolution: int, device) -> tuple:
    generator = torch.Generator().manual_seed(0)
    composite = (torch.rand(batch, 3, resolution, resolution, generator=generator) * 2 - 1).to(device)
    mask = torch.zeros(batch, 1, resolution, resolution)
    mask[..., resolution // 4: 3 * resolution // 4, resolution // 4: 3 * resolution // 4] = 1
    return composite, mask.to(device)


def count_flops(model: nn.Module, resolution: int, device='cpu') -> dict:
    """MACs of one ``(1, 3, r, r)`` forward; ``{'flops': int, 'uncounted_ops': {...}}`` or ``{'error': str}``."""
    from mmengine.analysis import FlopAnalyzer
    try:
        analyzer = FlopAnalyzer(_TensorAdapter(model).eval(), _inputs(1, resolution, device))
        analyzer.unsupported_ops_warnings(False)
        analyzer.uncalled_modules_warnings(False)
        analyzer.tracer_warnings('none')
        total = int(analyzer.total())
        uncounted = {name: int(count) for name, count in sorted(analyzer.unsupported_ops().items())}
    except Exception as error:  # e.g. a model that leaves PyTorch (NumPy) cannot be traced
        return dict(error=f'{type(error).__name__}: {str(error).splitlines()[0][:200]}')
    result = dict(flops=total, uncounted_ops=uncounted)
    if total == 0:
        result['note'] = 'no counted operator: the work is element-wise or outside PyTorch'
    return result


def synchronize(device) -> None:
    """Wait for queued CUDA work on ``device`` (no-op on the CPU), so wall-clock timings are honest."""
    if torch.device(device).type == 'cuda':
        torch.cuda.synchronize(device)


def _reset_peak_rss() -> bool:
    try:
        with open('/proc/self/clear_refs', 'w') as handle:
            handle.write('5')
        return True
    except OSError:
        return False


def _peak_rss_mb() -> Optional[float]:
    try:
        with open('/proc/self/status') as handle:
            for line in handle:
                if line.startswith('VmHWM:'):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    try:
        import resource
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    except Exception:
        return None


def measure_latency(model: nn.Module, batch: int, resolution: int, device='cpu', warmup: int = 3,
                    repeats: int = 10) -> dict:
    """Latency (ms, mean ± std), throughput (images/s) and peak memory of one batch size."""
    inputs = dict(zip(('composite', 'mask'), _inputs(batch, resolution, device)))
    is_cuda = torch.device(device).type == 'cuda'
    with torch.no_grad():
        for _ in range(warmup):
            model(inputs, None, 'tensor')
        synchronize(device)
        if is_cuda:
            torch.cuda.reset_peak_memory_stats(device)
            memory_kind = 'cuda-max-allocated'
        else:
            memory_kind = 'peak-rss-during-runs' if _reset_peak_rss() else 'process-peak-rss'
        times = []
        for _ in range(repeats):
            synchronize(device)
            start = time.perf_counter()
            model(inputs, None, 'tensor')
            synchronize(device)
            times.append(time.perf_counter() - start)
    peak = torch.cuda.max_memory_allocated(device) / 2 ** 20 if is_cuda else _peak_rss_mb()
    mean = statistics.fmean(times)
    return dict(batch=batch, resolution=resolution, mean_ms=mean * 1e3,
                std_ms=(statistics.stdev(times) if len(times) > 1 else 0.0) * 1e3,
                throughput=batch / mean, peak_memory_mb=peak, memory_kind=memory_kind, repeats=repeats,
                warmup=warmup)


def machine_matmul_flops(device='cpu', size: Optional[int] = None, repeats: int = 5) -> dict:
    """Measured dense float32 matmul rate (true FLOP/s = 2·n³ / t), the reference for achieved FLOP/s."""
    is_cuda = torch.device(device).type == 'cuda'
    size = size or (8192 if is_cuda else 2048)
    a = torch.randn(size, size, device=device)
    b = torch.randn(size, size, device=device)
    a @ b
    synchronize(device)
    best = float('inf')
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        synchronize(device)
        best = min(best, time.perf_counter() - start)
    return dict(size=size, dtype='float32', flops_per_s=2 * size ** 3 / best,
                tf32=bool(is_cuda and torch.backends.cuda.matmul.allow_tf32))


def device_description(device='cpu') -> dict:
    device = torch.device(device)
    info = dict(device=str(device), torch=torch.__version__, threads=torch.get_num_threads(),
                python=platform.python_version(), cpu=_cpu_name(), cpu_count=os.cpu_count())
    if device.type == 'cuda':
        info.update(gpu=torch.cuda.get_device_name(device), cuda=torch.version.cuda)
    return info


def _cpu_name() -> str:
    try:
        with open('/proc/cpuinfo') as handle:
            for line in handle:
                if line.startswith('model name'):
                    return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or 'unknown'


def measure_efficiency(model: nn.Module, device='cpu', flops_resolutions: Sequence[int] = (256, 1024),
                       latency_batches: Sequence[int] = (1, 8), latency_resolution: int = 256, warmup: int = 3,
                       repeats: int = 10, matmul_flops_per_s: Optional[float] = None) -> dict:
    """Everything in the efficiency leaderboard for one model.

    ``params`` counts what inference uses: training-only loss heads (``model.losses``, e.g. a
    contrastive projection MLP) are excluded and reported as ``training_only_params``.
    """
    losses = getattr(model, 'losses', None)
    loss_ids = {id(p) for p in losses.parameters()} if isinstance(losses, nn.Module) else set()
    params = sum(p.numel() for p in model.parameters() if id(p) not in loss_ids)
    training_only = sum(p.numel() for p in model.parameters() if id(p) in loss_ids)
    flops = {str(resolution): count_flops(model, resolution, device) for resolution in flops_resolutions}
    latency = [measure_latency(model, batch, latency_resolution, device, warmup, repeats)
               for batch in latency_batches]
    macs = flops.get(str(latency_resolution), {}).get('flops')
    for row in latency:
        if macs and matmul_flops_per_s:
            achieved = 2 * macs * row['batch'] / (row['mean_ms'] / 1e3)
            row.update(achieved_flops_per_s=achieved, fraction_of_matmul=achieved / matmul_flops_per_s)
    return dict(params=params, training_only_params=training_only, flops=flops, latency=latency)
