"""What ``tools/train.py`` and ``tools/test.py`` do, importable so tests drive the same code."""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

from toolkit.utils import register_all_modules


def add_common_arguments(parser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank``, shared by the tools."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def load_config(config: str, work_dir: Optional[str] = None, cfg_options: Optional[dict] = None,
                launcher: str = 'none') -> Config:
    """Read a config, apply overrides, and pick ``work_dir`` (default ``work_dirs/<config name>``)."""
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('work_dirs', osp.splitext(osp.basename(config))[0])
    return cfg


def enable_amp(cfg: Config) -> bool:
    """Switch the optimizer wrapper to AMP when CUDA is present; on CPU warn and keep fp32."""
    if not torch.cuda.is_available():
        print_log('--amp requested but no CUDA device is available: training in fp32 on the CPU.',
                  logger='current', level=30)
        return False
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper == 'AmpOptimWrapper':
        return True
    if wrapper != 'OptimWrapper':
        raise ValueError(f'--amp works with OptimWrapper configs; this one uses {wrapper}')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
    return True


def build_runner(cfg: Config) -> Runner:
    register_all_modules(init_default_scope=False)
    if 'runner_type' in cfg:
        from toolkit.registry import RUNNERS
        return RUNNERS.build(cfg)
    return Runner.from_cfg(cfg)


def train(config: str, work_dir: Optional[str] = None, resume: Optional[str] = None, amp: bool = False,
          auto_scale_lr: bool = False, cfg_options: Optional[dict] = None, launcher: str = 'none') -> Runner:
    """Train from a config file.

    Args:
        resume: ``'auto'`` (latest checkpoint in ``work_dir``), a checkpoint path, or ``None``.
    """
    cfg = load_config(config, work_dir, cfg_options, launcher)
    if amp:
        enable_amp(cfg)
    if auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume
    runner = build_runner(cfg)
    runner.train()
    return runner


def test(config: str, checkpoint: Optional[str], work_dir: Optional[str] = None, out: Optional[str] = None,
         profile: Optional[str] = None, cfg_options: Optional[dict] = None, launcher: str = 'none') -> dict:
    """Evaluate a checkpoint (or a model with no weights when ``checkpoint`` is None); returns the metrics."""
    cfg = load_config(config, work_dir, cfg_options, launcher)
    cfg.load_from = None  # loaded below, strictly: a checkpoint that does not fit the model is an error
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    for evaluator in evaluators:
        if evaluator.get('type') == 'HarmonizationMetric':
            if profile:
                evaluator['profile'] = profile
            if out:
                evaluator['output_file'] = osp.abspath(out)
    runner = build_runner(cfg)
    if checkpoint:
        try:
            runner.load_checkpoint(checkpoint, map_location='cpu', strict=True)
        except RuntimeError as error:
            raise RuntimeError(f'{checkpoint} does not fit the model of {config}: {error}') from error
    return runner.test()
