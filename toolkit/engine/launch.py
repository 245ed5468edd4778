"""What ``tools/train.py`` and ``tools/test.py`` do, importable so tests drive the same code."""
from __future__ import annotations

import hashlib
import json
import os
import os.path as osp
import re
from typing import Optional

import torch
from mmengine.config import Config, DictAction
from mmengine.logging import print_log
from mmengine.runner import Runner

import toolkit.checkpoint  # noqa: F401  (every run saves and loads checkpoints safely: see its module doc)
from toolkit.config import read_config
from toolkit.process import exit_without_teardown
from toolkit.registry import load_plugins
from toolkit.zoo import register_checkpoint_scheme


def add_common_arguments(parser) -> None:
    """``--work-dir``, ``--cfg-options``, ``--launcher`` and ``--local-rank``, shared by the tools."""
    parser.add_argument('--work-dir', help='where logs and checkpoints go (default work_dirs/<config name>)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config keys, key=value')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'], default='none')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)


def variant_name(cfg_options: Optional[dict]) -> str:
    """A file-name-safe name for a set of ``--cfg-options`` (``''`` for none): the default work dir of a variant
    is ``work_dirs/<config name>_<variant>``, so variants never share checkpoints.

    Example:
        >>> variant_name({'model.fusion.type': 'RAIN', 'train_cfg.max_iters': 10})
        'model.fusion.type-RAIN,train_cfg.max_iters-10'
    """
    if not cfg_options:
        return ''
    parts = [f'{key}-{cfg_options[key]}' for key in sorted(cfg_options)]
    name = re.sub(r'[^A-Za-z0-9._,+-]+', '_', ','.join(parts))
    if len(name) > 96:  # long overrides: a readable start and a digest of the whole
        name = name[:80] + '-' + hashlib.sha256(name.encode()).hexdigest()[:12]
    return name


def load_config(config: str, work_dir: Optional[str] = None, cfg_options: Optional[dict] = None,
                launcher: str = 'none') -> Config:
    """Read a config, apply overrides, and pick ``work_dir`` (default ``work_dirs/<config name>``, with
    ``_<variant>`` appended for ``cfg_options``, see :func:`variant_name`)."""
    cfg = read_config(config, cfg_options)
    cfg.launcher = launcher
    if work_dir is not None:
        cfg.work_dir = work_dir
    elif cfg.get('work_dir') is None:
        name = osp.splitext(osp.basename(config))[0]
        variant = variant_name(cfg_options)
        cfg.work_dir = osp.join('work_dirs', f'{name}_{variant}' if variant else name)
    return cfg


#: what a work dir records of the config that trained in it (see :func:`claim_work_dir`)
RUN_CONFIG_FILE = 'harmonyzoo_run_config.json'
#: keys that may differ between runs sharing a work dir (where, and how they start)
_PER_RUN_KEYS = ('work_dir', 'launcher', 'resume', 'load_from')


def _flatten(tree, prefix: str = '') -> dict:
    if isinstance(tree, dict):
        flat = {}
        for key, value in tree.items():
            flat.update(_flatten(value, f'{prefix}{key}.'))
        return flat
    return {prefix[:-1]: tree}


def claim_work_dir(cfg: Config) -> None:
    """Refuse to train in a work dir that another configuration trained in, else record this one there.

    Checkpoints of one configuration do not fit another (a ``--resume`` would load the wrong model or fail on
    its optimizer state), and overwriting them loses a finished run.

    Raises:
        ValueError: naming the work dir and the settings that differ.
    """
    settings = json.loads(json.dumps({key: value for key, value in cfg.to_dict().items() if key not in _PER_RUN_KEYS},
                                     sort_keys=True, default=str))
    record = osp.join(cfg.work_dir, RUN_CONFIG_FILE)
    if osp.isfile(record):
        with open(record, encoding='utf-8') as handle:
            previous = json.load(handle)
        if previous != settings:
            old, new = _flatten(previous), _flatten(settings)
            differing = sorted(key for key in set(old) | set(new) if old.get(key, ...) != new.get(key, ...))
            shown = ', '.join(f'{key} ({old.get(key, "unset")!r} there, {new.get(key, "unset")!r} now)'
                              for key in differing[:3]) + (f' and {len(differing) - 3} more' if len(differing) > 3
                                                           else '')
            raise ValueError(f'{cfg.work_dir}: this work dir belongs to another configuration (differs in {shown}); '
                             'give this run its own --work-dir, or remove the old one')
        return
    os.makedirs(cfg.work_dir, exist_ok=True)
    with open(record, 'w', encoding='utf-8') as handle:
        json.dump(settings, handle, indent=1, sort_keys=True)


def enable_amp(cfg: Config, device: Optional[str] = None) -> str:
    """Switch the optimizer wrapper to mixed precision; returns the wrapper type now in ``cfg``.

    * CUDA: MMEngine's ``AmpOptimWrapper`` (float16 autocast with dynamic loss scaling);
    * CPU: :class:`~toolkit.engine.optim.CPUAmpOptimWrapper` (bfloat16 autocast; bfloat16 has float32's
      range, so no loss scaling), when this torch build supports it — else a warning and float32.
    """
    device = device or ('cuda' if torch.cuda.is_available() else 'cpu')
    wrapper = cfg.optim_wrapper.get('type', 'OptimWrapper')
    if wrapper in ('AmpOptimWrapper', 'CPUAmpOptimWrapper'):
        return wrapper
    if wrapper != 'OptimWrapper':
        raise ValueError(f'--amp works with OptimWrapper configs; this one uses {wrapper}')
    if device.startswith('cuda'):
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.setdefault('loss_scale', 'dynamic')
        return 'AmpOptimWrapper'
    from toolkit.engine.optim import cpu_bfloat16_supported
    if not cpu_bfloat16_supported():
        print_log('--amp requested, but this torch build has no CPU bfloat16 autocast: training in float32.',
                  logger='current', level=30)
        return wrapper
    cfg.optim_wrapper.type = 'CPUAmpOptimWrapper'
    cfg.optim_wrapper.setdefault('dtype', 'bfloat16')
    return 'CPUAmpOptimWrapper'


def prepare_distributed(cfg: Config) -> None:
    """Make ``--launcher pytorch|slurm`` work without CUDA (CPU processes talking over gloo).

    MMEngine's ``init_dist`` calls ``torch.cuda.set_device`` whatever the backend, and wraps the model in DDP with
    ``device_ids=[LOCAL_RANK]``, which CPU modules refuse. Without CUDA this picks gloo, starts the process group
    itself (from torchrun's environment, or Slurm's), and wraps with ``device_ids=None``. With CUDA nothing changes.
    """
    import os

    import torch.distributed as dist
    if cfg.get('launcher', 'none') == 'none' or torch.cuda.is_available():
        return
    env_cfg = cfg.setdefault('env_cfg', {})
    dist_cfg = env_cfg.setdefault('dist_cfg', {})
    dist_cfg['backend'] = 'gloo'
    if not dist.is_initialized():
        if cfg.launcher == 'slurm':  # what MMEngine's _init_dist_slurm sets, minus the CUDA device
            os.environ.setdefault('RANK', os.environ['SLURM_PROCID'])
            os.environ.setdefault('WORLD_SIZE', os.environ['SLURM_NTASKS'])
            os.environ.setdefault('LOCAL_RANK', os.environ.get('SLURM_LOCALID', '0'))
            os.environ.setdefault('MASTER_PORT', '29500')
            os.environ.setdefault('MASTER_ADDR', '127.0.0.1')
        elif cfg.launcher != 'pytorch':
            raise ValueError(f'--launcher {cfg.launcher} without CUDA is not supported; use pytorch (torchrun) or '
                             'slurm')
        dist.init_process_group(backend='gloo')
    wrapper = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                   find_unused_parameters=cfg.get('find_unused_parameters', False))
    wrapper.update(cfg.get('model_wrapper_cfg') or {})
    wrapper['device_ids'] = None  # a CPU module
    cfg.model_wrapper_cfg = wrapper


def init_worker_group(device: Optional[str] = None) -> tuple[int, int, Optional[str]]:
    """Join the process group of a ``torchrun`` job that is not an MMEngine runner (e.g. sharded gallery indexing):
    ``(rank, world_size, device)``. One process (no ``WORLD_SIZE``) gives ``(0, 1, device)``.

    With CUDA each rank takes ``cuda:LOCAL_RANK`` and NCCL through MMEngine's ``init_dist``; without it, gloo is
    started directly (MMEngine's ``init_dist`` calls CUDA APIs whatever the backend).
    """
    import os

    import torch.distributed as dist
    world = int(os.environ.get('WORLD_SIZE', '1'))
    if world == 1:
        return 0, 1, device
    if not dist.is_initialized():
        if torch.cuda.is_available() and (device is None or str(device).startswith('cuda')):
            from mmengine.dist import init_dist
            init_dist('pytorch', backend='nccl')
            device = f'cuda:{torch.cuda.current_device()}'
        else:
            dist.init_process_group(backend='gloo')
            device = 'cpu'
    from mmengine.dist import get_dist_info
    rank, world = get_dist_info()
    return rank, world, device


def _close_process_group() -> None:
    """Leave the process group cleanly: a gloo group still open at interpreter exit can abort the process
    ("terminate called without an active exception") after a successful run."""
    import torch.distributed as dist
    if dist.is_available() and dist.is_initialized():
        dist.barrier()  # every rank has finished (rank 0 may still be saving) before the group goes away
        dist.destroy_process_group()


def end_worker_process(code: int = 0) -> None:
    """End a finished process of a multi-process run without the interpreter's teardown (no-op in a single-process
    run, which returns normally).

    Occasionally gloo's worker threads abort the teardown of a process whose group was already destroyed
    ("terminate called without an active exception", SIGABRT), turning a finished run into a failed one for
    torchrun. By then the checkpoints and logs are written (:func:`toolkit.process.exit_without_teardown`).
    """
    if int(os.environ.get('WORLD_SIZE', '1') or 1) <= 1:
        return
    exit_without_teardown(code)


def is_main_process_env() -> bool:
    """Rank 0 as the launchers set it (torchrun's ``RANK``, slurm's ``SLURM_PROCID``), before any process group
    exists: only it records the work dir's configuration."""
    return int(os.environ.get('RANK', os.environ.get('SLURM_PROCID', '0')) or 0) == 0


def build_runner(cfg: Config) -> Runner:
    # the registries import the core modules they need themselves (their `locations`); plugins and the hf://
    # checkpoint scheme are what they cannot find on their own
    load_plugins()
    register_checkpoint_scheme()
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
    prepare_distributed(cfg)
    if amp:
        enable_amp(cfg)
    if auto_scale_lr:
        cfg.auto_scale_lr.enable = True
    if resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif resume:
        cfg.resume, cfg.load_from = True, resume
    if is_main_process_env():
        claim_work_dir(cfg)
    runner = build_runner(cfg)
    try:
        runner.train()
    finally:
        _close_process_group()
    return runner


def test(config: str, checkpoint: Optional[str], work_dir: Optional[str] = None, out: Optional[str] = None,
         profile: Optional[str] = None, cfg_options: Optional[dict] = None, launcher: str = 'none',
         data_root: Optional[str] = None) -> dict:
    """Evaluate a checkpoint (or a model with no weights when ``checkpoint`` is None); returns the metrics.

    ``data_root`` replaces the test set's root (an iHarmony4-layout folder: your own test data rather than the
    config's). The test set evaluated is logged with its root and size."""
    cfg = load_config(config, work_dir, cfg_options, launcher)
    if data_root is not None:
        if not osp.isdir(data_root):
            raise FileNotFoundError(f'{data_root}: test data root does not exist')
        cfg.test_dataloader.dataset.data_root = data_root
    prepare_distributed(cfg)
    if launcher != 'none':  # no DDP for evaluation: nothing to synchronise (and DDP refuses parameterless models)
        cfg.model_wrapper_cfg = dict(type='toolkit.EvaluationWrapper')  # scoped: the Runner looks it up unscoped
    cfg.load_from = None  # loaded below, strictly: a checkpoint that does not fit the model is an error
    evaluators = cfg.test_evaluator if isinstance(cfg.test_evaluator, (list, tuple)) else [cfg.test_evaluator]
    for evaluator in evaluators:
        if evaluator.get('type') == 'HarmonizationMetric':
            if profile:
                evaluator['profile'] = profile
            if out:
                evaluator['output_file'] = osp.abspath(out)
    runner = build_runner(cfg)
    dataset = runner.test_dataloader.dataset
    print_log(f'evaluating on {osp.abspath(dataset.data_root)} ({len(dataset)} composites); another test set: '
              '--data-root DIR', logger='current')
    if checkpoint:
        try:
            runner.load_checkpoint(checkpoint, map_location='cpu', strict=True)
        except RuntimeError as error:
            raise RuntimeError(f'{checkpoint} does not fit the model of {config}: {error}') from error
    try:
        return runner.test()
    finally:
        _close_process_group()
