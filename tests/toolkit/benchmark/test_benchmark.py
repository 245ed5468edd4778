"""tools/benchmark.py on the bundled samples with the non-learned baselines."""
import json
import os
import subprocess
import sys

import pytest
import torch

import toolkit.benchmark.quality as quality_module
from toolkit.benchmark import measure_efficiency, resolve_model, run_benchmark
from toolkit.benchmark.quality import build_dataset
from toolkit.benchmark.report import compare
from toolkit.metrics import compute_image_metrics, summarize
from toolkit.models import EncoderDecoderHarmonizer

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
BASELINES = ['copy-paste', 'reinhard-lab', 'histogram-matching']
QUICK = dict(efficiency=False, batch_size=2, num_workers=0)


def _load(path):
    with open(path) as handle:
        return json.load(handle)


@pytest.fixture(scope='module')
def full_run(samples_root, tmp_path_factory):
    out_dir = str(tmp_path_factory.mktemp('bench'))
    result = run_benchmark(BASELINES, samples_root, out_dir, efficiency=True, flops_resolutions=(256,),
                           latency_batches=(1, 2), warmup=1, repeats=2, batch_size=2, num_workers=0)
    return out_dir, result


def _direct_summary(model_name, samples_root):
    """The quality table of a model computed here, image by image, without the benchmark."""
    from toolkit.benchmark import build_model, resolve_model
    dataset = build_dataset(samples_root, 256)
    model = build_model(resolve_model(model_name))
    records = []
    for index in range(len(dataset)):
        item = dataset[index]
        with torch.no_grad():
            batch = dict(inputs=[item['inputs']], data_samples=[item['data_samples']])
            sample = model(**model.data_preprocessor(batch),
                           mode='predict')[0]
        values = compute_image_metrics(sample.pred_img, sample.gt_img, sample.soft_mask, 'toolkit')
        records.append(dict(name=sample.name, subset=sample.subset, **values))
    return summarize(records, dataset.metainfo['subsets'])


def test_every_output_is_written(full_run, samples_root):
    out_dir, result = full_run
    for name in ('leaderboard.json', 'leaderboard.csv', 'leaderboard_efficiency.csv', 'leaderboard.md',
                 'leaderboard.png'):
        assert os.path.getsize(os.path.join(out_dir, name)) > 0, name
    # the files hold the values computed independently here, not just what the same call returned
    direct = _direct_summary('reinhard-lab', samples_root)
    written = next(m for m in _load(os.path.join(out_dir, 'leaderboard.json'))['models'] if m['name'] == 'reinhard-lab')
    for metric in ('MSE', 'fMSE', 'PSNR', 'fPSNR', 'SSIM', 'fSSIM'):
        assert written['quality']['subsets']['All'][metric] == pytest.approx(direct['subsets']['All'][metric],
                                                                             rel=1e-9)
    csv_row = next(line.split(',') for line in open(os.path.join(out_dir, 'leaderboard.csv')).read().splitlines()
                   if line.startswith('reinhard-lab,subsets,All,'))
    assert float(csv_row[4]) == pytest.approx(direct['subsets']['All']['MSE'], rel=1e-6)
    markdown = open(os.path.join(out_dir, 'leaderboard.md')).read()
    for heading in ('## Quality', '### Per subset', '### Foreground-ratio bins', '## Efficiency',
                    '## Definitions and provenance'):
        assert heading in markdown
    assert '| input composite | 6 |' in markdown
    csv_lines = open(os.path.join(out_dir, 'leaderboard.csv')).read().splitlines()
    # (3 subsets + All + 3 bins) rows for the input and each of the three models
    assert csv_lines[0].startswith('model,group,row,N,MSE') and len(csv_lines) == 1 + 4 * 7
    provenance = result['provenance']
    assert provenance['git_commit'] and provenance['torch'] == torch.__version__
    assert result['profile']['name'] == 'toolkit' and 'fMSE' in result['profile']['definition']
    assert all(model['config_hash'] for model in result['models'])


def test_input_row_equals_metrics_computed_directly(full_run, samples_root):
    _, result = full_run
    dataset = build_dataset(samples_root, 256)
    records = []
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        values = compute_image_metrics(sample.composite_img, sample.gt_img, sample.soft_mask, 'toolkit')
        records.append(dict(name=sample.name, subset=sample.subset, **values))
    direct = summarize(records, dataset.metainfo['subsets'])
    assert json.loads(json.dumps(direct)) == result['input']
    copy_paste = next(model for model in result['models'] if model['name'] == 'copy-paste')
    for metric in ('MSE', 'fMSE', 'PSNR', 'SSIM', 'fSSIM'):
        assert copy_paste['quality']['subsets']['All'][metric] == pytest.approx(
            result['input']['subsets']['All'][metric], abs=1e-9)


def test_efficiency_numbers(full_run):
    _, result = full_run
    assert result['machine']['matmul']['flops_per_s'] > 0
    for model in result['models']:
        efficiency = model['efficiency']
        assert efficiency['params'] == 0  # non-learned
        for row in efficiency['latency']:
            assert row['mean_ms'] > 0 and row['throughput'] > 0 and row['peak_memory_mb'] > 0


def test_efficiency_of_a_learned_model():
    model = EncoderDecoderHarmonizer(backbone=dict(type='UNet', base_channels=4, num_levels=2)).eval()
    efficiency = measure_efficiency(model, 'cpu', flops_resolutions=(64,), latency_batches=(1, 2),
                                    latency_resolution=64, warmup=1, repeats=2, matmul_flops_per_s=1e9)
    assert efficiency['params'] == sum(p.numel() for p in model.parameters()) > 0
    flops = efficiency['flops']['64']
    assert flops['flops'] > 0 and isinstance(flops['uncounted_ops'], dict)
    first_conv = 4 * 4 * 3 * 3 * 64 * 64  # stem conv: 4→4 channels, 3x3, at 64x64 (MACs)
    assert flops['flops'] > first_conv
    assert [row['batch'] for row in efficiency['latency']] == [1, 2]
    assert all(row['fraction_of_matmul'] > 0 for row in efficiency['latency'])


def test_flops_agree_with_torch_flop_counter():
    """MACs of a convolution-only harmonizer = PyTorch's FlopCounterMode count / 2 (it counts a MAC as 2 FLOPs)."""
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from toolkit.benchmark.efficiency import _inputs, count_flops
    from toolkit.models import BaseHarmonizer

    class ConvHarmonizer(BaseHarmonizer):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 16, 3, stride=2, padding=1),
                                     nn.Conv2d(16, 3, 1))

        def harmonize(self, composite, mask, references=None):
            return composite + nn.functional.pad(self.net(composite), (0, 32, 0, 32))[..., :64, :64]

    model = ConvHarmonizer().eval()
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(dict(zip(('composite', 'mask'), _inputs(1, 64, 'cpu'))), None, 'tensor')
    assert count_flops(model, 64)['flops'] == counter.get_total_flops() // 2
    assert counter.get_total_flops() // 2 == 64 * 64 * 8 * 3 * 9 + 32 * 32 * 16 * 8 * 9 + 32 * 32 * 3 * 16  # by hand


def test_resume_after_interruption_gives_identical_json(samples_root, tmp_path):
    reference = run_benchmark(['reinhard-lab'], samples_root, str(tmp_path / 'reference'), **QUICK)
    interrupted = str(tmp_path / 'interrupted')
    with pytest.raises(KeyboardInterrupt):
        run_benchmark(['reinhard-lab'], samples_root, interrupted, interrupt_after_batches=4, **QUICK)
    cache_files = sorted(name for name in os.listdir(os.path.join(interrupted, 'cache')) if name.endswith('.jsonl'))
    lines = [len(open(os.path.join(interrupted, 'cache', name)).readlines()) for name in cache_files]
    # the input row finished (3 batches of 2); the interruption came after the model's second batch
    assert sorted(lines) == [4, 6]
    resumed = run_benchmark(['reinhard-lab'], samples_root, interrupted, **QUICK)
    assert json.dumps(resumed, sort_keys=True) == json.dumps(reference, sort_keys=True)
    assert _load(os.path.join(interrupted, 'leaderboard.json')) == _load(
        os.path.join(tmp_path / 'reference', 'leaderboard.json'))


def test_adding_a_model_only_computes_that_model(samples_root, tmp_path, monkeypatch):
    run_benchmark(['copy-paste'], samples_root, str(tmp_path), **QUICK)
    calls = []
    original = quality_module.compute_image_metrics
    monkeypatch.setattr(quality_module, 'compute_image_metrics', lambda *a, **k: calls.append(1) or original(*a, **k))
    run_benchmark(['copy-paste', 'histogram-matching'], samples_root, str(tmp_path), **QUICK)
    assert len(calls) == 6  # only histogram-matching's six images


def test_compare_reports_deltas(full_run):
    _, result = full_run
    old = json.loads(json.dumps(result))
    old['models'][1]['quality']['subsets']['All']['PSNR'] -= 1.5
    deltas = {delta['model']: delta for delta in compare(result, old)}
    assert deltas['reinhard-lab']['PSNR'] == pytest.approx(1.5)
    assert deltas['copy-paste']['PSNR'] == 0


def test_model_resolution_and_cli_errors(tmp_path):
    spec = resolve_model('reinhard-lab')
    assert spec.name == 'reinhard-lab' and spec.config.endswith('reinhard-lab_iharmony4-256.py')
    assert resolve_model(spec.config + ':none').checkpoint is None
    with pytest.raises(FileNotFoundError, match="no config named 'nope'"):
        resolve_model('nope')
    with pytest.raises(FileNotFoundError, match='missing.pth does not exist'):
        resolve_model(spec.config + ':' + str(tmp_path / 'missing.pth'))
    result = subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'tools', 'benchmark.py'), 'nope',
                             '--data-root', 'x'], capture_output=True, text=True, timeout=120)
    assert result.returncode == 1 and "error: no config named 'nope'" in result.stderr
