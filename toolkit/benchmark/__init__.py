"""Reproducible leaderboards: quality on any iHarmony4-layout dataset, and efficiency (params, FLOPs, latency,
memory)."""
from .efficiency import count_flops, machine_matmul_flops, measure_efficiency, measure_latency
from .models import ModelSpec, build_model, resolve_model
from .quality import evaluate_quality
from .runner import run_benchmark

__all__ = ['ModelSpec', 'resolve_model', 'build_model', 'evaluate_quality', 'count_flops', 'measure_latency',
           'measure_efficiency', 'machine_matmul_flops', 'run_benchmark']
