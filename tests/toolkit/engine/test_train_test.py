"""End to end on CPU: train the tiny config on the bundled samples, resume, test from a checkpoint."""
import glob
import json
import math
import os
import re
import shutil
import subprocess
import sys

import pytest
import torch

from toolkit.checkpoint import safe_torch_load
from toolkit.engine.launch import test as run_test
from toolkit.engine.launch import train as run_train

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
TINY_CONFIG = os.path.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-20i_samples-64.py')


@pytest.fixture(scope='module')
def trained(tmp_path_factory):
    work_dir = str(tmp_path_factory.mktemp('train'))
    runner = run_train(TINY_CONFIG, work_dir=work_dir)
    losses = runner.message_hub.get_scalar('train/loss').data[0].tolist()
    return work_dir, losses


def test_training_reduces_the_loss_and_saves_best(trained):
    work_dir, losses = trained
    assert len(losses) == 20
    assert sum(losses[-5:]) / 5 < 0.8 * sum(losses[:5]) / 5, losses
    for name in ('iter_10.pth', 'iter_20.pth'):
        assert os.path.isfile(os.path.join(work_dir, name))
    assert glob.glob(os.path.join(work_dir, 'best_PSNR_iter_*.pth'))
    # composite | prediction | target grids were written by the visualisation hook
    assert len(glob.glob(os.path.join(work_dir, '*', 'vis_data', 'vis_image', 'val_*.png'))) == 6
    log_text = ''.join(open(path).read() for path in glob.glob(os.path.join(work_dir, '*', '*.log')))
    assert 'Failed to search registry' not in log_text and 'is not in the' not in log_text


def test_resume_continues_to_the_same_weights(trained, tmp_path):
    work_dir, _ = trained
    resumed_dir = str(tmp_path / 'resumed')
    os.makedirs(resumed_dir)
    shutil.copy(os.path.join(work_dir, 'iter_10.pth'), resumed_dir)
    runner = run_train(TINY_CONFIG, work_dir=resumed_dir, resume=os.path.join(resumed_dir, 'iter_10.pth'))
    assert runner.iter == 20
    # it started at iteration 11: training is deterministic, so a run that ignored --resume and started again
    # would reach the same weights; its log (every 5 iterations) would begin at 5 (or sooner)
    def logged(folder):
        text = ''.join(open(path).read() for path in glob.glob(os.path.join(folder, '*', '*.log')))
        return sorted({int(match) for match in re.findall(r'Iter\(train\) \[\s*(\d+)/20\]', text)})
    assert {5, 10, 15, 20} <= set(logged(work_dir))
    assert logged(resumed_dir) == [15, 20]
    reference = safe_torch_load(os.path.join(work_dir, 'iter_20.pth'))['state_dict']
    resumed = safe_torch_load(os.path.join(resumed_dir, 'iter_20.pth'))['state_dict']
    assert reference.keys() == resumed.keys()
    for key in reference:
        assert torch.allclose(reference[key].float(), resumed[key].float(), atol=1e-6), key


def test_test_from_checkpoint_reports_all_metrics(trained, tmp_path):
    work_dir, _ = trained
    out = str(tmp_path / 'results.json')
    metrics = run_test(TINY_CONFIG, os.path.join(work_dir, 'iter_20.pth'), work_dir=str(tmp_path / 'test'), out=out)
    for key in ('MSE', 'fMSE', 'PSNR', 'fPSNR', 'SSIM', 'fSSIM', 'HAdobe5k/PSNR', 'input/PSNR'):
        assert key in metrics
    report = json.load(open(out))
    assert report['num_images'] == 6 and report['profile']['resolution'] == [64, 64]
    assert report['model']['subsets']['All']['PSNR'] == pytest.approx(metrics['PSNR'])


def test_test_on_another_data_root(trained, tmp_path, samples_root):
    """--data-root evaluates your own test data, not the config's (the bundled samples)."""
    import shutil
    work_dir, _ = trained
    root = tmp_path / 'mine'
    shutil.copytree(os.path.join(samples_root, 'RainNet'), root / 'RainNet')
    (root / 'IHD_test.txt').write_text(''.join(f'RainNet/composite_images/rainnet{i}_1_1.png\n' for i in (1, 2)))
    out = str(tmp_path / 'mine.json')
    run_test(TINY_CONFIG, os.path.join(work_dir, 'iter_20.pth'), work_dir=str(tmp_path / 't'), out=out,
             data_root=str(root))
    report = json.load(open(out))
    assert report['num_images'] == 2 and sorted(report['model']['subsets']) == ['All', 'RainNet']
    with pytest.raises(FileNotFoundError, match='nowhere: test data root does not exist'):
        run_test(TINY_CONFIG, None, work_dir=str(tmp_path / 't2'), data_root=str(tmp_path / 'nowhere'))


def test_test_cli_prints_tables(trained, tmp_path):
    work_dir, _ = trained
    out = str(tmp_path / 'cli.json')
    result = subprocess.run(
        [sys.executable, os.path.join(REPO_ROOT, 'tools', 'test.py'), TINY_CONFIG,
         os.path.join(work_dir, 'iter_20.pth'), '--out', out, '--work-dir', str(tmp_path / 'cli'),
         '--profile', 'target-peak'], capture_output=True, text=True, cwd=REPO_ROOT, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert 'input composite (no harmonization)' in result.stdout and 'HAdobe5k' in result.stdout
    assert json.load(open(out))['profile']['name'] == 'target-peak'


def test_missing_config_is_one_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py does not exist'):
        run_train(str(tmp_path / 'nope.py'))


def test_amp_picks_the_wrapper_for_the_device():
    """Decided by the device asked for, not by this machine: CUDA gets float16 with loss scaling, CPU bfloat16."""
    from mmengine.config import Config

    from toolkit.engine.launch import enable_amp

    def config():
        return Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='Adam'))))
    cuda, cpu = config(), config()
    assert enable_amp(cuda, device='cuda') == 'AmpOptimWrapper' and cuda.optim_wrapper.loss_scale == 'dynamic'
    assert enable_amp(cpu, device='cpu') == 'CPUAmpOptimWrapper' and cpu.optim_wrapper.dtype == 'bfloat16'
    other = Config(dict(optim_wrapper=dict(type='OptimWrapperDict')))
    with pytest.raises(ValueError, match='OptimWrapper configs'):
        enable_amp(other, device='cpu')


def test_amp_on_cpu_trains_in_bfloat16(tmp_path):
    """--amp on a CPU is real: the convolutions of the training forward run in bfloat16, the weights stay float32."""
    if torch.cuda.is_available():
        pytest.skip('this checks the CPU path')
    dtypes = []
    original = torch.nn.Conv2d.forward

    def recording_forward(self, x):
        output = original(self, x)
        dtypes.append(output.dtype)
        return output

    torch.nn.Conv2d.forward = recording_forward
    try:
        runner = run_train(TINY_CONFIG, work_dir=str(tmp_path), amp=True,
                           cfg_options={'train_cfg.max_iters': 3, 'train_cfg.val_interval': 100})
    finally:
        torch.nn.Conv2d.forward = original
    assert type(runner.optim_wrapper).__name__ == 'CPUAmpOptimWrapper'
    assert torch.bfloat16 in dtypes
    assert all(p.dtype == torch.float32 for p in runner.model.parameters())
    losses = runner.message_hub.get_scalar('train/loss').data[0]
    assert len(losses) == 3 and all(math.isfinite(float(v)) and float(v) > 0 for v in losses)


def test_one_amp_step_per_family_is_close_to_float32():
    """Each family's tiny config: one bfloat16-autocast step from the same weights and batch as a float32 step gives
    finite losses and gradients, the loss within 5 % (bfloat16 keeps 8 mantissa bits)."""
    from toolkit.benchmark.device_check import check_amp
    result = check_amp('cpu', tolerance=0.05)
    assert set(result['families']) == {'unet', 'rainnet', 'clharmony', 'raiha', 'colorcurves'}
    for family, rows in result['families'].items():
        assert rows['bfloat16']['finite'] and rows['float32']['finite'], family
        assert rows['bfloat16']['relative_loss_difference'] <= 0.05, (family, rows)
    assert result['ok']


def test_region_statistics_stay_float32_under_autocast():
    """A near-constant region: 1 and 1.0078125 (exactly representable in bfloat16). Its variance is 1.5259e-05;
    computed in bfloat16 the mean rounds to 1 or 1.0078 and the variance comes out 0 or twice too big."""
    from toolkit.ops import masked_mean_std
    features = torch.ones(1, 1, 4, 4, dtype=torch.bfloat16)
    features[..., :2, :] = 1.0078125
    mask = torch.ones(1, 1, 4, 4)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        mean, std = masked_mean_std(features, mask, eps=0.0)
    assert mean.dtype == torch.float32
    assert float(mean) == pytest.approx(1.00390625, abs=1e-7)
    assert float(std) ** 2 == pytest.approx(0.00390625 ** 2, rel=1e-5)
    naive = ((features - features.mean()) ** 2).mean()  # what bfloat16 arithmetic gives
    assert abs(float(naive) - 0.00390625 ** 2) > 0.5 * 0.00390625 ** 2


def test_device_check_runs_on_cpu_with_cuda_parts_skipped(tmp_path):
    from toolkit.benchmark.device_check import run_device_check
    report = run_device_check(str(tmp_path), device='cpu', quick=True)
    checks = report['checks']
    assert set(checks) == {'amp', 'ddp', 'short_training', 'efficiency', 'retrieval_encoder'}
    assert not any('error' in check for check in checks.values()), checks
    assert 'float16' not in next(iter(checks['amp']['families'].values())) and 'CUDA' in checks['amp']['skipped']
    assert 'no CUDA' in checks['ddp']['skipped']
    assert checks['short_training']['iterations'] == 10 and checks['short_training']['config'].startswith('configs/')
    assert checks['efficiency']['models'][0]['efficiency']['latency'][0]['batch'] == 1
    markdown = open(tmp_path / 'device_check.md').read()
    assert markdown.startswith('# Device check: no GPU (cpu)') and '| unet | bfloat16 |' in markdown
    assert json.load(open(tmp_path / 'device_check.json'))['environment']['device'] == 'cpu'


def test_checkpoint_with_wrong_keys_is_an_error(tmp_path):
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'backbone.stem.0.conv.weight': torch.zeros(1)}, 'meta': {}}, bad)
    with pytest.raises(RuntimeError, match=r'bad.pth does not fit the model[\s\S]*missing keys'):
        run_test(TINY_CONFIG, str(bad), work_dir=str(tmp_path / 'w'))


def test_cfg_options_variants_get_their_own_work_dirs_and_a_work_dir_keeps_its_config(tmp_path, monkeypatch):
    """A variant trained with --cfg-options used to share `work_dirs/<config>` with the base run, overwriting its
    checkpoints; `--resume` then loaded the other variant's optimizer state."""
    from toolkit.engine.launch import claim_work_dir, load_config
    monkeypatch.chdir(tmp_path)
    config = os.path.join(REPO_ROOT, 'configs', 'clharmony', 'clharmony-tiny_stylefusion-s2am_adamw-20i_samples-64.py')
    base = load_config(config)
    rain = load_config(config, cfg_options={'model.fusion.type': 'RAIN'})
    adain = load_config(config, cfg_options={'model.fusion.type': 'AdaIN'})
    assert base.work_dir == os.path.join('work_dirs', 'clharmony-tiny_stylefusion-s2am_adamw-20i_samples-64')
    assert rain.work_dir == base.work_dir + '_model.fusion.type-RAIN'
    assert len({base.work_dir, rain.work_dir, adain.work_dir}) == 3
    # one work dir, two configurations (an explicit --work-dir reused): the second is refused, naming the key
    shared = str(tmp_path / 'shared')
    claim_work_dir(load_config(config, work_dir=shared))
    claim_work_dir(load_config(config, work_dir=shared))  # the same configuration may come back (resume)
    with pytest.raises(ValueError, match=r'model\.fusion\.type') as refused:
        run_train(config, work_dir=shared, cfg_options={'model.fusion.type': 'RAIN'})
    assert shared in str(refused.value)
    assert not glob.glob(os.path.join(shared, '*.pth'))
