"""What keeps a published leaderboard number true: a cache keyed on everything that decides a value, resizing
and the published metric conventions as profile fields, provenance, and native-resolution evaluation."""
import json
import os
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

import toolkit.benchmark.quality as quality_module
import toolkit.metrics.functional as functional
from toolkit.benchmark import run_benchmark
from toolkit.benchmark.quality import build_dataset, metric_code_version
from toolkit.datasets import read_image, read_mask
from toolkit.metrics import compute_image_metrics, get_profile
from toolkit.metrics.harmonization_metric import native_image_metrics

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
QUICK = dict(efficiency=False, batch_size=2, num_workers=0)


def _all_row(result, model='copy-paste'):
    return next(m for m in result['models'] if m['name'] == model)['quality']['subsets']['All']


@pytest.fixture
def samples_copy(samples_root, tmp_path):
    data = tmp_path / 'data'
    shutil.copytree(samples_root, data)
    return data


def _count_metric_calls(monkeypatch):
    calls = []
    original = quality_module.compute_image_metrics
    monkeypatch.setattr(quality_module, 'compute_image_metrics', lambda *a, **k: calls.append(1) or original(*a, **k))
    return calls


def test_a_changed_data_file_is_computed_again(samples_copy, tmp_path, monkeypatch):
    out = str(tmp_path / 'bench')
    first = run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    real = samples_copy / 'RainNet' / 'real_images' / 'rainnet1.png'
    image = cv2.imread(str(real))
    cv2.imwrite(str(real), np.clip(image.astype(int) + 40, 0, 255).astype(np.uint8))  # same name, new content
    calls = _count_metric_calls(monkeypatch)
    second = run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    assert len(calls) == 2  # that one image, for the input row and for the model: the other five come from the cache
    fresh = run_benchmark(['copy-paste'], str(samples_copy), str(tmp_path / 'fresh'), **QUICK)  # no cache at all
    assert _all_row(second) == _all_row(fresh) != _all_row(first)
    assert second['dataset']['files_sha256'] != first['dataset']['files_sha256']


def test_a_changed_split_file_or_metric_constant_is_computed_again(samples_copy, tmp_path, monkeypatch):
    out = str(tmp_path / 'bench')
    run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    calls = _count_metric_calls(monkeypatch)
    run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    assert calls == []  # nothing changed: everything from the cache
    version = metric_code_version()
    monkeypatch.setattr(functional, 'MIN_MSE', 1e-12)
    assert metric_code_version() != version
    run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    assert len(calls) == 12  # all six images, input row and model
    monkeypatch.undo()
    calls = _count_metric_calls(monkeypatch)
    lines = (samples_copy / 'IHD_test.txt').read_text().split()
    (samples_copy / 'IHD_test.txt').write_text('\n'.join(reversed(lines)) + '\n')
    run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    assert len(calls) == 12


@pytest.mark.parametrize('profile, image_flag, mask_flag', [('toolkit', cv2.INTER_AREA, None),
                                                            ('is2am', cv2.INTER_LINEAR, cv2.INTER_NEAREST)])
def test_resizing_follows_the_profile(samples_root, profile, image_flag, mask_flag):
    dataset = build_dataset(samples_root, 256, subsets=['HAdobe5k'], profile=profile)
    sample = dataset[0]
    info = dataset.get_data_info(0)
    composite = read_image(info['composite_path'])
    expected = cv2.resize(composite, (256, 256), interpolation=image_flag)
    np.testing.assert_array_equal(sample['inputs']['composite'].permute(1, 2, 0).numpy(), expected)
    mask = read_mask(info['mask_path'])
    soft = sample['data_samples'].soft_mask[0].numpy()
    if mask_flag is None:
        np.testing.assert_allclose(soft, np.clip(cv2.resize(mask, (256, 256), interpolation=cv2.INTER_LINEAR), 0, 1),
                                   atol=1e-6)
    else:
        np.testing.assert_array_equal(soft, cv2.resize(mask, (256, 256), interpolation=mask_flag))


def _published(pred, target, mask, mse_masked, peak):
    """The iS2AM / DCCF / PCT-Net metric classes (iharm/inference/metrics.py), transcribed: HWC float, HW mask."""
    squared = (pred - target) ** 2
    mse = (mask[..., None] * squared).mean() if mse_masked else squared.mean()
    fmse = (mask[..., None] * squared).sum() / (3 * mask.sum() + 1e-6)
    peak = target.max() if peak == 'max' else 255.0
    return dict(MSE=mse, fMSE=fmse, PSNR=10 * np.log10(peak ** 2 / (mse + 1e-6)))


@pytest.mark.parametrize('profile, mse_masked, peak', [('is2am', False, 'max'), ('dccf', True, 'max'),
                                                       ('pct-net', True, 255)])
def test_published_conventions_match_their_code(samples_root, profile, mse_masked, peak):
    root = os.path.join(samples_root, 'RainNet')
    target = read_image(os.path.join(root, 'real_images', 'rainnet2.png')).astype(np.float64)
    mask = (read_mask(os.path.join(root, 'masks', 'rainnet2_1.png')) > 0.5).astype(np.float64)
    rng = np.random.default_rng(0)
    pred = np.clip(target + rng.normal(0, 9, target.shape) * mask[..., None] + 3.3, 0, 255)  # floats, not rounded
    values = compute_image_metrics(torch.from_numpy(pred.transpose(2, 0, 1)), torch.from_numpy(
        target.transpose(2, 0, 1)), torch.from_numpy(mask)[None], profile)
    for name, expected in _published(pred, target, mask, mse_masked, peak).items():
        assert values[name] == pytest.approx(expected, rel=1e-12), (profile, name)
    assert get_profile(profile).describe().count('1e-06') >= 1


def test_provenance_names_libraries_and_counts_untracked_files(tmp_path, monkeypatch):
    import toolkit.benchmark.runner as runner
    info = runner.provenance()
    for key in ('numpy', 'opencv', 'mmcv', 'scikit_image', 'torch', 'mmengine', 'metric_code'):
        assert info[key], key
    assert info['numpy'] == np.__version__ and info['opencv'] == cv2.__version__
    repository = tmp_path / 'repo'
    repository.mkdir()
    environment = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@e.org', GIT_COMMITTER_NAME='t',
                       GIT_COMMITTER_EMAIL='t@e.org')
    (repository / 'a.py').write_text('x = 1\n')
    for command in (['init', '-q'], ['add', 'a.py'], ['commit', '-q', '-m', 'a']):
        subprocess.run(['git', '-C', str(repository), *command], check=True, env=environment)
    monkeypatch.setattr(runner, 'REPO_ROOT', str(repository))
    assert runner.provenance()['git_dirty'] is False
    (repository / 'new_metric.py').write_text('untracked\n')  # not committed: the numbers are not from the commit
    assert runner.provenance()['git_dirty'] is True


def test_native_resolution_metrics_in_bands_equal_the_whole_image(samples_root):
    from skimage.metrics import structural_similarity
    root = os.path.join(samples_root, 'HAdobe5k')
    composite = read_image(os.path.join(root, 'composite_images', 'a0002_1_4.jpg'))
    target = read_image(os.path.join(root, 'real_images', 'a0002.jpg'))
    mask = read_mask(os.path.join(root, 'masks', 'a0002_1.png'))
    profile = dict(name='native', resolution=None)
    banded = native_image_metrics(composite, target, mask, profile, band_rows=37)  # bands not aligned with anything
    whole = compute_image_metrics(torch.from_numpy(composite.transpose(2, 0, 1)), torch.from_numpy(
        target.transpose(2, 0, 1)), torch.from_numpy(mask)[None], profile)
    for name, value in whole.items():
        assert banded[name] == pytest.approx(value, rel=1e-12, abs=1e-12), name
    reference = structural_similarity(target, composite, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, data_range=255, channel_axis=2)
    assert banded['SSIM'] == pytest.approx(reference, abs=1e-10)


def test_full_res_eval_tool_streams_subsets_to_json(tmp_path, samples_root):
    out = tmp_path / 'full_res.json'
    result = subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'tools', 'full_res_eval.py'), 'reinhard-lab',
                             '--data-root', samples_root, '--subsets', 'HAdobe5k', '--out', str(out)],
                            capture_output=True, text=True, timeout=600, cwd=REPO_ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(out.read_text())
    assert [row['name'] for row in report['per_image']] == ['HAdobe5k/composite_images/a0002_1_4.jpg',
                                                           'HAdobe5k/composite_images/a0002_1_5.jpg']
    composite = read_image(os.path.join(samples_root, 'HAdobe5k', 'composite_images', 'a0002_1_4.jpg'))
    target = read_image(os.path.join(samples_root, 'HAdobe5k', 'real_images', 'a0002.jpg'))
    mask = read_mask(os.path.join(samples_root, 'HAdobe5k', 'masks', 'a0002_1.png'))
    squared = (composite.astype(np.float64) - target) ** 2
    assert report['per_image'][0]['input composite']['MSE'] == pytest.approx(squared.mean(), rel=1e-12)
    fg = mask > 0.5
    assert report['per_image'][0]['input composite']['fMSE'] == pytest.approx(squared[fg].mean(), rel=1e-12)
    assert report['results']['full-resolution transfer']['fMSE'] < report['results']['input composite']['fMSE']


def test_full_res_eval_names_a_config_and_checkpoint_by_the_config(tmp_path, samples_root):
    """A board folder compares models by name: CONFIG.py:CHECKPOINT is named as the config (publish's default name),
    or as --name says; not by the whole argument."""
    config = 'configs/colorcurves/colorcurves_adam-6k-warm-3k_matched-256.py'
    spec = f'{config}:weights/colorcurves_adam-6k-warm-3k_matched-256.safetensors'
    for extra, expected in (([], 'colorcurves_adam-6k-warm-3k_matched-256'), (['--name', 'stage-2'], 'stage-2')):
        out = tmp_path / f'{expected}.json'
        result = subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'tools', 'full_res_eval.py'), spec,
                                 '--data-root', samples_root, '--subsets', 'RainNet', '--min-side', '0',
                                 '--out', str(out), *extra], capture_output=True, text=True, timeout=600,
                                cwd=REPO_ROOT)
        assert result.returncode == 0, result.stderr[-2000:]
        assert json.loads(out.read_text())['model'] == expected


def test_images_made_worse_than_the_input_are_counted():
    from toolkit.benchmark.runner import count_worse_than_input, mean_and_std
    composite = [dict(name='a', MSE=10.0, fMSE=100.0), dict(name='b', MSE=10.0, fMSE=100.0),
                 dict(name='c', MSE=5.0, fMSE=float('nan')), dict(name='d', MSE=1.0, fMSE=1.0)]
    model = [dict(name='a', MSE=12.0, fMSE=90.0),   # worse in MSE only
             dict(name='b', MSE=10.0, fMSE=150.0),  # equal MSE is not worse; worse in fMSE
             dict(name='c', MSE=6.0, fMSE=3.0),     # no foreground value on the input side: not counted for fMSE
             dict(name='e', MSE=99.0, fMSE=99.0)]   # not in the input's records: not compared
    assert count_worse_than_input(model, composite) == dict(N=3, MSE=2, fMSE=1)
    row = dict(N=3, MSE=1.0, fMSE=1.0)
    runs = [dict(subsets=dict(All=row), fg_bins={}, worse_than_input=dict(N=3, MSE=2, fMSE=1)),
            dict(subsets=dict(All=row), fg_bins={}, worse_than_input=dict(N=3, MSE=1, fMSE=0))]
    mean, std = mean_and_std(runs)
    assert mean['worse_than_input'] == dict(N=3, MSE=1.5, fMSE=0.5) and std['worse_than_input']['fMSE'] == 0.5


def test_errors_are_grouped_by_how_far_off_the_composite_was():
    from toolkit.benchmark.report import to_markdown
    from toolkit.benchmark.runner import by_input_error, mean_and_std
    composite = [dict(name='a', fMSE=50.0), dict(name='b', fMSE=150.0), dict(name='c', fMSE=250.0),
                 dict(name='d', fMSE=2000.0), dict(name='e', fMSE=5000.0), dict(name='f', fMSE=float('nan'))]
    model = [dict(name='a', fMSE=80.0), dict(name='b', fMSE=100.0), dict(name='c', fMSE=400.0),
             dict(name='d', fMSE=1000.0), dict(name='e', fMSE=6000.0), dict(name='f', fMSE=1.0)]
    bins = by_input_error(model, composite)
    assert list(bins) == ['0-100', '100-300', '300-1000', '1000-3000', '3000+']
    assert bins['0-100'] == dict(N=1, input_fMSE=50.0, fMSE=80.0, worse=1)
    assert bins['100-300'] == dict(N=2, input_fMSE=200.0, fMSE=250.0, worse=1)  # b better, c worse
    assert bins['300-1000'] == dict(N=0)
    assert bins['1000-3000'] == dict(N=1, input_fMSE=2000.0, fMSE=1000.0, worse=0)
    assert bins['3000+'] == dict(N=1, input_fMSE=5000.0, fMSE=6000.0, worse=1)  # f: no input value, left out
    row = dict(N=5, MSE=1.0, fMSE=1.0)
    runs = [dict(subsets=dict(All=row), fg_bins={}, input_error_bins={'0-100': dict(N=2, input_fMSE=50.0, fMSE=80.0,
                                                                                   worse=2)}),
            dict(subsets=dict(All=row), fg_bins={}, input_error_bins={'0-100': dict(N=2, input_fMSE=50.0, fMSE=60.0,
                                                                                   worse=1)})]
    mean, _ = mean_and_std(runs)
    assert mean['input_error_bins']['0-100'] == dict(N=2, input_fMSE=50.0, fMSE=70.0, worse=1.5)
    quality = dict(subsets=dict(All=dict(N=5, **{m: 1.0 for m in ('MSE', 'fMSE', 'PSNR', 'fPSNR', 'SSIM', 'fSSIM')})),
                   fg_bins={}, worse_than_input=dict(N=5, MSE=0, fMSE=3), input_error_bins=bins)
    result = dict(dataset=dict(num_images=5, data_root='d', subsets=[], resolution=256),
                  profile=dict(name='toolkit', definition='-'), input=dict(quality), models=[
                      dict(name='m', quality=quality)], provenance=dict(toolkit_version='0', torch='0', mmengine='0'))
    page = to_markdown(result)
    assert '| input composite | 50.00 (1) | 200.00 (2) | – (0) | 2000.00 (1) | 5000.00 (1) |' in page
    assert '| m | 80.00 (1 / 1) | 250.00 (1 / 2) | – (– / 0) | 1000.00 (0 / 1) | 6000.00 (1 / 1) |' in page


def _independent_reinhard_worse_than_input(root: str) -> int:
    """How many test triplets Reinhard's transfer (Reinhard et al. 2001, in CIELAB) makes worse than the input in
    fMSE at 256×256, without the toolkit's colour, transfer or metric code."""
    from skimage.color import lab2rgb, rgb2lab
    worse = 0
    lines = open(os.path.join(root, 'IHD_test.txt')).read().split()
    for line in lines:
        subset, name = line.split('/')[0], line.split('/')[-1]  # SUBSET/composite_images/NAME
        stem = os.path.splitext(name)[0]
        real_name, fg, _ = stem.rsplit('_', 2)  # <real>_<object>_<variant>
        composite = cv2.imread(os.path.join(root, subset, 'composite_images', name))[..., ::-1]
        real_path = next(os.path.join(root, subset, 'real_images', real_name + ext) for ext in ('.jpg', '.png')
                         if os.path.exists(os.path.join(root, subset, 'real_images', real_name + ext)))
        real = cv2.imread(real_path)[..., ::-1]
        mask = cv2.imread(os.path.join(root, subset, 'masks', f'{real_name}_{fg}.png'), cv2.IMREAD_GRAYSCALE)
        size = (256, 256)
        composite = cv2.resize(composite, size, interpolation=cv2.INTER_AREA).astype(np.float64)
        real = cv2.resize(real, size, interpolation=cv2.INTER_AREA).astype(np.float64)
        inside = cv2.resize(mask.astype(np.float32) / 255.0, size, interpolation=cv2.INTER_LINEAR) > 0.5
        lab = rgb2lab(composite / 255.0)
        transferred = lab.copy()
        for channel in range(3):
            foreground, background = lab[..., channel][inside], lab[..., channel][~inside]
            transferred[..., channel][inside] = ((foreground - foreground.mean()) / (foreground.std() + 1e-6)
                                                 * background.std() + background.mean())
        output = np.round(np.clip(lab2rgb(transferred), 0, 1) * 255.0)
        output[~inside] = composite[~inside]
        harmonized_fmse = ((output - real)[inside] ** 2).sum() / (3 * inside.sum())
        input_fmse = ((composite - real)[inside] ** 2).sum() / (3 * inside.sum())
        worse += harmonized_fmse > input_fmse
    return int(worse)


def test_leaderboard_reports_images_made_worse(samples_root, tmp_path):
    result = run_benchmark(['copy-paste', 'reinhard-lab'], samples_root, str(tmp_path / 'bench'), **QUICK)
    rows = {model['name']: model['quality'] for model in result['models']}
    assert rows['copy-paste']['worse_than_input'] == dict(N=6, MSE=0, fMSE=0)  # equal is never worse
    assert 'worse_than_input' not in result['input']
    # the count of images Reinhard makes worse, recomputed independently: scikit-image's Lab conversion, the
    # transfer's formula and fMSE written out here, at the profile's 256 px
    reinhard = rows['reinhard-lab']['worse_than_input']
    expected = _independent_reinhard_worse_than_input(samples_root)
    assert 1 <= expected < 6  # a case that tells counting apart from "all" or "none"
    assert reinhard['N'] == 6 and reinhard['fMSE'] == expected
    markdown = (tmp_path / 'bench' / 'leaderboard.md').read_text()
    assert '| copy-paste | 6 |' in markdown and '| 0/6 / 0/6 |' in markdown


def test_a_learned_config_without_weights_is_refused(samples_root, tmp_path):
    # a config name (or a zoo model whose weights are not released) used to be scored with its random
    # initialisation under the model's name
    unet = os.path.join(REPO_ROOT, 'configs', 'unet', 'unet-s_adam-3k_lalonde-efros-256.py')
    for argument in (unet, 'unet-tiny_identity_adam-20i',  # a config path, a config name under configs/
                     'unet_identity_adam-60e_iharmony4-256'):  # a zoo model with no released weights
        with pytest.raises(ValueError, match='has learnable weights but no checkpoint'):
            run_benchmark([argument], samples_root, str(tmp_path / 'refused'), **QUICK)
    # on purpose, it runs, and the baselines never need weights
    result = run_benchmark([unet + ':none', 'reinhard-lab'], samples_root, str(tmp_path / 'random'), **QUICK)
    assert [model['name'] for model in result['models']] == ['unet-s', 'reinhard-lab']
    no_quality = run_benchmark([unet], None, str(tmp_path / 'speed'), quality=False, efficiency=True,
                               flops_resolutions=(64,), latency_batches=(1,), warmup=1, repeats=1)
    # the learnable values in the released file of the same architecture (BatchNorm's running statistics are
    # buffers, not parameters), counted from the file without building the model
    from safetensors import safe_open
    with safe_open(os.path.join(REPO_ROOT, 'weights', 'unet-s_adam-3k_lalonde-efros-256.safetensors'), 'pt') as f:
        learnable = sum(int(np.prod(f.get_slice(key).get_shape())) for key in f.keys()
                        if not key.endswith(('running_mean', 'running_var', 'num_batches_tracked')))
    assert no_quality['models'][0]['efficiency']['params'] == learnable


def test_new_content_with_the_same_size_and_mtime_is_hashed_again(tmp_path):
    """A file rewritten with another picture of the same size whose mtime is then restored (`rsync -t`, `touch -r`,
    a restore from backup) used to keep its old digest: size and mtime were all the cache looked at."""
    import hashlib
    import time

    from toolkit.benchmark.quality import FileFingerprints
    data, index = tmp_path / 'image.png', str(tmp_path / 'files.json')
    data.write_bytes(b'a' * 100)
    before = os.stat(data)
    fingerprints = FileFingerprints(index)
    assert fingerprints.sha256(str(data)) == hashlib.sha256(b'a' * 100).hexdigest()
    fingerprints.save()
    time.sleep(0.02)
    data.write_bytes(b'b' * 100)
    os.utime(data, ns=(before.st_atime_ns, before.st_mtime_ns))
    after = os.stat(data)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert FileFingerprints(index).sha256(str(data)) == hashlib.sha256(b'b' * 100).hexdigest()


def test_an_edited_metric_source_is_computed_again(samples_copy, tmp_path, monkeypatch):
    """The cache key holds the metric code's source: an edited formula (not only a changed constant) recomputes."""
    import importlib
    module = tmp_path / 'edited_metric_code.py'
    module.write_text('SCALE = 1.0\n\n\ndef fmse(a, b):\n    return ((a - b) ** 2).mean() * SCALE\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.import_module('edited_metric_code')
    real_version = quality_module.metric_code_version
    monkeypatch.setattr(quality_module, 'metric_code_version',
                        lambda modules=('edited_metric_code',): real_version(modules))
    out = str(tmp_path / 'bench')
    run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    calls = _count_metric_calls(monkeypatch)
    run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    assert calls == []
    module.write_text('SCALE = 1.0\n\n\ndef fmse(a, b):\n    return ((a - b) ** 2).sum() * SCALE\n')  # same constants
    run_benchmark(['copy-paste'], str(samples_copy), out, **QUICK)
    assert len(calls) == 12


def test_a_changed_checkpoint_is_computed_again(samples_root, tmp_path, monkeypatch):
    """Same config, same checkpoint path and size, other weights: the cached rows of the old weights are not
    reused (the key holds the checkpoint's sha256)."""
    from safetensors.torch import save_file

    from toolkit.models import build_model_from_config
    config = os.path.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-20i_samples-64.py')
    checkpoint = tmp_path / 'weights.safetensors'
    out = str(tmp_path / 'bench')
    rows = []
    for seed in (0, 1):
        torch.manual_seed(seed)
        model, _ = build_model_from_config(config)
        save_file({key: value.contiguous() for key, value in model.state_dict().items()}, str(checkpoint))
        calls = _count_metric_calls(monkeypatch)
        result = run_benchmark([f'{config}:{checkpoint}'], samples_root, out, **QUICK)
        assert len(calls) == 6 + (6 if seed == 0 else 0)  # the model's six images each time (+ the input once)
        rows.append(next(m for m in result['models'])['quality']['subsets']['All'])
        monkeypatch.undo()
    assert rows[0] != rows[1]
