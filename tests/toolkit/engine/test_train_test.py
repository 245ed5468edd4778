"""End to end on CPU: train the tiny config on the bundled samples, resume, test from a checkpoint."""
import glob
import json
import os
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


def test_missing_config_and_amp_on_cpu(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.py does not exist'):
        run_train(str(tmp_path / 'nope.py'))
    from mmengine.config import Config

    from toolkit.engine.launch import enable_amp
    cfg = Config(dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='Adam'))))
    assert enable_amp(cfg) is torch.cuda.is_available()
    assert cfg.optim_wrapper.type == ('AmpOptimWrapper' if torch.cuda.is_available() else 'OptimWrapper')


def test_checkpoint_with_wrong_keys_is_an_error(tmp_path):
    bad = tmp_path / 'bad.pth'
    torch.save({'state_dict': {'backbone.stem.0.conv.weight': torch.zeros(1)}, 'meta': {}}, bad)
    with pytest.raises(RuntimeError, match=r'bad.pth does not fit the model[\s\S]*missing keys'):
        run_test(TINY_CONFIG, str(bad), work_dir=str(tmp_path / 'w'))
