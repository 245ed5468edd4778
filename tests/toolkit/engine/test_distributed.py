"""Multi-process training and evaluation on CPU (2 processes, gloo) through tools/dist_train.sh and dist_test.sh.

What the maths says must hold, and is checked:

* 2 processes × batch 1 reach the weights of 1 process × batch 2 (same seed, same samples), for every family
  where the maths allows it: DDP averages the gradients of the two per-process mean losses, which is the gradient
  of the mean over both samples. This needs a model without batch statistics (BatchNorm normalises each
  process's batch on its own, unless SyncBN, which gloo on CPU does not run: the colour-curve test config drops
  it), no per-process randomness in the forward (RainNet's dropout is switched off; Raiha runs its
  non-reference setting, as its references are drawn per process) and a deterministic pipeline. UNet, RainNet,
  the colour-curve model and Raiha are checked. The maths does not allow it for the region-wise contrastive
  network: its loss samples patch locations from each process's own generator (a batch split draws other
  patches), so its 2-process run is checked for finiteness only.
* A distributed run resumed from its checkpoint starts at the saved iteration (its log begins there) and ends at
  the weights of the uninterrupted distributed run.
* Evaluation over 2 processes gives exactly the single-process metrics, also when the split does not divide
  evenly (the distributed sampler pads with repeated images; the evaluator drops them).
* Every family's tiny config trains a few iterations in 2 processes (UNet, RainNet, the contrastive network, Raiha);
  the contrastive loss samples patch locations per process, so its runs are compared for finiteness only.
"""
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from tests.conftest import free_port
from toolkit.benchmark.device_check import FAMILY_CONFIGS  # the tiny config of every family
from toolkit.checkpoint import safe_torch_load

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
#: per family: its tiny config, the resolution it needs, and what makes it free of batch statistics and
#: per-process randomness (see the module doc)
EQUIVALENT_FAMILIES = {
    'unet': ('configs/unet/unet-tiny_identity_adam-20i_samples-64.py', 64, 'backbone=dict(norm_cfg=None)', []),
    'rainnet': ('configs/rainnet/rainnet-tiny_l1_adam-40i_samples-256.py', 256, 'use_dropout=False', []),
    'colorcurves': ('configs/colorcurves/colorcurves-tiny_adam-20i_samples-64.py', 64, 'norm_cfg=None', []),
    # the non-reference setting: the training pipeline's references are drawn per process
    'raiha': ('configs/raiha/raiha-tiny_sgf_adam-20i_samples-64.py', 64, '',
              [dict(type='ContentEncoderRecordHook')]),
}


def deterministic_config(folder, family: str) -> str:
    """A test config: the family's tiny config with a deterministic pipeline, plain SGD (Adam divides each
    gradient by its running RMS, which turns float rounding in near-zero gradients into differences of ~1e-5),
    batch 1, 4 iterations, a checkpoint every 2 and a log line every iteration."""
    base, resolution, model, hooks = EQUIVALENT_FAMILIES[family]
    path = os.path.join(str(folder), f'{family}_deterministic.py')
    with open(path, 'w') as handle:
        handle.write(f'''_base_ = [{os.path.join(REPO_ROOT, base)!r}]
deterministic = [dict(type='LoadHarmonizationImages'), dict(type='Resize', scale={resolution}),
                 dict(type='BinarizeMask', threshold=0.5), dict(type='PackHarmonizationInputs')]
model = dict({model})
optim_wrapper = dict(_delete_=True, type='OptimWrapper', optimizer=dict(type='SGD', lr=0.05, momentum=0.9))
train_dataloader = dict(batch_size=1, sampler=dict(type='InfiniteSampler', shuffle=True, seed=0),
                        dataset=dict(pipeline=deterministic))
train_cfg = dict(max_iters=4, val_interval=1000)
default_hooks = dict(checkpoint=dict(interval=2, save_best=None, max_keep_ckpts=-1), logger=dict(interval=1))
custom_hooks = {hooks!r}
randomness = dict(seed=0)
''')
    return path


def _environment():
    return dict(os.environ, PYTHON=sys.executable, PORT=str(free_port()), OMP_NUM_THREADS='1', PYTHONFAULTHANDLER='1',
                PYTHONPATH=REPO_ROOT)


def dist_train(config, work_dir, *options, processes=2):
    command = ['bash', os.path.join(REPO_ROOT, 'tools', 'dist_train.sh'), config, str(processes), '--work-dir',
               str(work_dir), *options]
    result = subprocess.run(command, capture_output=True, text=True, env=_environment(), timeout=600)
    assert result.returncode == 0, _failure(result)
    return result


def _failure(result) -> str:
    """What a failed run printed: around Python's fatal-error report when there is one, else the end."""
    output = result.stdout + result.stderr
    fatal = output.find('Fatal Python error')
    return output[max(0, fatal - 2000):fatal + 4000] if fatal >= 0 else output[-4000:]


def single_train(config, work_dir, *options):
    command = [sys.executable, os.path.join(REPO_ROOT, 'tools', 'train.py'), config, '--work-dir', str(work_dir),
               *options]
    result = subprocess.run(command, capture_output=True, text=True, env=_environment(), timeout=600)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    return result


def _weights(path):
    return safe_torch_load(str(path))['state_dict']


def _logged_iterations(work_dir) -> list:
    """The training iterations a run logged (its own log files only)."""
    text = ''.join(open(path).read() for path in work_dir.rglob('*.log'))
    return sorted({int(match) for match in re.findall(r'Iter\(train\) \[\s*(\d+)/\d+\]', text)})


@pytest.mark.parametrize('family', sorted(EQUIVALENT_FAMILIES))
def test_two_processes_equal_one_process_with_twice_the_batch(family, tmp_path):
    config = deterministic_config(tmp_path, family)
    dist_train(config, tmp_path / 'dist')
    single_train(config, tmp_path / 'single', '--cfg-options', 'train_dataloader.batch_size=2')
    distributed, single = _weights(tmp_path / 'dist' / 'iter_4.pth'), _weights(tmp_path / 'single' / 'iter_4.pth')
    start = _weights(tmp_path / 'dist' / 'iter_2.pth')
    assert distributed.keys() == single.keys()
    moved = 0.0
    for key in single:
        assert torch.allclose(distributed[key], single[key], atol=1e-6, rtol=1e-5), key
        moved = max(moved, float((distributed[key] - start[key]).abs().max()))
    assert moved > 1e-4  # the weights did change: the comparison is not between two untouched copies


def test_resumed_distributed_run_matches_the_uninterrupted_one(tmp_path):
    config = deterministic_config(tmp_path, 'unet')
    dist_train(config, tmp_path / 'full')
    os.makedirs(tmp_path / 'resumed')
    shutil.copy(tmp_path / 'full' / 'iter_2.pth', tmp_path / 'resumed' / 'iter_2.pth')
    dist_train(config, tmp_path / 'resumed', '--resume', str(tmp_path / 'resumed' / 'iter_2.pth'))
    # it started at the saved iteration: a run that ignored --resume would log 1-4 and reach the same weights
    assert _logged_iterations(tmp_path / 'full') == [1, 2, 3, 4]
    assert _logged_iterations(tmp_path / 'resumed') == [3, 4]
    full, resumed = _weights(tmp_path / 'full' / 'iter_4.pth'), _weights(tmp_path / 'resumed' / 'iter_4.pth')
    for key in full:
        assert torch.allclose(full[key], resumed[key], atol=1e-7), key


def test_evaluation_over_two_processes_equals_one(tmp_path, samples_root):
    data = tmp_path / 'five'
    shutil.copytree(samples_root, data)
    lines = open(data / 'IHD_test.txt').read().split()
    (data / 'IHD_test.txt').write_text('\n'.join(lines[:5]) + '\n')  # 5 images: the sampler must pad one
    config = os.path.join(REPO_ROOT, 'configs', 'baselines', 'reinhard-lab_iharmony4-256.py')
    options = ['--cfg-options', f'test_dataloader.dataset.data_root={data}', 'test_dataloader.num_workers=0',
               'test_dataloader.persistent_workers=False', 'test_dataloader.batch_size=2']
    one, two = tmp_path / 'one.json', tmp_path / 'two.json'
    result = subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'tools', 'test.py'), config, 'none', '--out',
                             str(one), '--work-dir', str(tmp_path / 'w1'), *options], capture_output=True, text=True,
                            env=_environment(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    result = subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'dist_test.sh'), config, 'none', '2', '--out',
                             str(two), '--work-dir', str(tmp_path / 'w2'), *options], capture_output=True, text=True,
                            env=_environment(), timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    single, distributed = json.load(open(one)), json.load(open(two))
    assert single['num_images'] == distributed['num_images'] == 5
    assert sorted(r['name'] for r in distributed['per_image']) == sorted(r['name'] for r in single['per_image'])
    assert distributed['model'] == single['model'] and distributed['input'] == single['input']




@pytest.mark.parametrize('family', sorted(FAMILY_CONFIGS))
def test_every_family_trains_in_two_processes(family, tmp_path):
    config = os.path.join(REPO_ROOT, FAMILY_CONFIGS[family])
    result = dist_train(config, tmp_path, '--cfg-options', 'train_cfg.max_iters=3', 'train_cfg.val_interval=3',
                        'default_hooks.checkpoint.interval=3', 'default_hooks.logger.interval=1')
    weights = _weights(tmp_path / 'iter_3.pth')
    assert all(torch.isfinite(value).all() for value in weights.values() if value.is_floating_point())
    assert 'Iter(train) [3/3]' in result.stdout + result.stderr
    log = open(next(tmp_path.rglob('*.log'))).read()
    assert 'Distributed training: True' in log and 'GPU number: 2' in log  # MMEngine's words for the world size


def test_slurm_dry_run_prints_the_resolved_command(tmp_path):
    environment = dict(os.environ, DRY_RUN='1', GPUS='16', GPUS_PER_NODE='8', CPUS_PER_TASK='4',
                       SRUN_ARGS='--quotatype=auto', PYTHON='python3')
    result = subprocess.run(['bash', os.path.join(REPO_ROOT, 'tools', 'slurm_train.sh'), 'gpu', 'harmony',
                             'configs/unet/unet_identity_adam-60e_iharmony4-256.py', 'work dirs/run', '--amp'],
                            capture_output=True, text=True, env=environment, timeout=60)
    assert result.returncode == 0, result.stderr
    words = [line.strip().rstrip('\\').strip() for line in result.stdout.splitlines()[1:]]
    assert words == ['srun', '-p', 'gpu', '--job-name=harmony', '--gres=gpu:8', '--ntasks=16', '--ntasks-per-node=8',
                     '--cpus-per-task=4', '--kill-on-bad-exit=1', '--quotatype=auto', 'python3', '-u', 'tools/train.py',
                     'configs/unet/unet_identity_adam-60e_iharmony4-256.py', r'--work-dir=work\ dirs/run',
                     '--launcher', 'slurm', '--amp']
    assert result.stdout.startswith(f'PYTHONPATH={REPO_ROOT}:')
