"""tools/change_calibration.py: how far a model moves each composite against how far it is off."""
import math

import numpy as np
import pytest
import torch
from scipy.stats import spearmanr

from toolkit.benchmark.calibration import calibrate, image_calibration, spearman, summarize_calibration


def _batch(seed=0):
    generator = torch.Generator().manual_seed(seed)
    composite = torch.rand(2, 3, 8, 8, generator=generator) * 255
    real = torch.rand(2, 3, 8, 8, generator=generator) * 255
    weights = (torch.rand(2, 1, 8, 8, generator=generator) > 0.5).double()
    return composite.double(), real.double(), weights


def _fmse(output, real, weights):  # Σ w·d² / (3 Σ w), per image, in NumPy
    o, r, w = (t.numpy() for t in (output, real, weights))
    return [float((w[i] * (o[i] - r[i]) ** 2).sum() / (3 * w[i].sum())) for i in range(o.shape[0])]


@pytest.mark.parametrize('fraction', [0.5, 2.0, -1.0])
def test_a_model_that_moves_a_fixed_fraction_of_the_needed_change(fraction):
    composite, real, weights = _batch()
    output = composite + fraction * (real - composite)
    rows = image_calibration(composite, output, real, weights, shrink=(1.0, 1.0 / fraction))
    for row, needed in zip(rows, _fmse(composite, real, weights)):
        assert row['input_fMSE'] == pytest.approx(needed)
        assert row['change'] == pytest.approx(fraction ** 2 * needed)  # it moved |fraction| times as far
        assert row['step'] == pytest.approx(1.0 / fraction)  # least squares scales it back to the real image
        assert row['shrunk_fMSE'][1.0 / fraction] == pytest.approx(0.0, abs=1e-6)
        assert row['fMSE'] == pytest.approx((1 - fraction) ** 2 * needed)


def test_shrunk_errors_equal_the_errors_of_the_shrunk_outputs():
    composite, real, weights = _batch(seed=3)
    output = composite + torch.randn(composite.shape, generator=torch.Generator().manual_seed(4)).double() * 30
    factors = (1.0, 0.7, 0.25)
    rows = image_calibration(composite, output, real, weights, shrink=factors)
    for factor in factors:
        direct = _fmse(composite + factor * (output - composite), real, weights)
        assert [row['shrunk_fMSE'][factor] for row in rows] == pytest.approx(direct)
    assert [row['fMSE'] for row in rows] == pytest.approx(_fmse(output, real, weights))


def test_no_foreground_and_no_change_give_nan_not_zero():
    composite, real, _ = _batch()
    rows = image_calibration(composite, composite.clone(), real, torch.zeros(2, 1, 8, 8))
    assert all(math.isnan(row['input_fMSE']) and math.isnan(row['step']) for row in rows)
    still = image_calibration(composite, composite.clone(), real, torch.ones(2, 1, 8, 8))
    assert all(math.isnan(row['step']) and row['change'] == 0 and row['fMSE'] == row['input_fMSE'] for row in still)
    with pytest.raises(ValueError, match='weights must be'):
        image_calibration(composite, composite, real, torch.ones(2, 8, 8))


def test_spearman_matches_scipy_with_ties():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 5, 40).astype(float).tolist()
    y = (np.array(x) * 0.5 + rng.normal(size=40)).tolist()
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)


def test_summary_bins_and_shrink_counts_by_hand():
    rows = [dict(input_fMSE=50.0, fMSE=80.0, change=40.0, step=0.1, shrunk_fMSE={1.0: 80.0, 0.5: 40.0}),
            dict(input_fMSE=60.0, fMSE=30.0, change=20.0, step=0.9, shrunk_fMSE={1.0: 30.0, 0.5: 70.0}),
            dict(input_fMSE=5000.0, fMSE=1000.0, change=4000.0, step=1.2, shrunk_fMSE={1.0: 1000.0, 0.5: 2000.0})]
    summary = summarize_calibration(rows)
    low = summary['bins']['0-100']
    assert low == dict(N=2, input_fMSE=55.0, change=30.0, median_step=0.5, fMSE=55.0, worse=1)
    assert summary['bins']['3000+']['worse'] == 0 and summary['bins']['100-300'] == dict(N=0)
    assert summary['shrink'][1.0] == dict(fMSE=pytest.approx(1110 / 3), worse=1)
    assert summary['shrink'][0.5] == dict(fMSE=pytest.approx(2110 / 3), worse=1)
    assert summary['spearman_change_vs_input'] == pytest.approx(0.5)


def test_calibrate_reproduces_the_leaderboard_errors(tiny_iharmony, tmp_path):
    """g = 1 and the input column are the leaderboard's own fMSE values of the same model on the same images."""
    from toolkit.benchmark.runner import run_benchmark
    board = run_benchmark(['reinhard-lab'], tiny_iharmony, str(tmp_path / 'board'), efficiency=False)
    result = calibrate('reinhard-lab', tiny_iharmony)
    rows = result['per_image']
    assert [row['name'] for row in rows] and len(rows) == board['dataset']['num_images']
    mean = lambda key: sum(row[key] for row in rows) / len(rows)  # noqa: E731
    assert mean('input_fMSE') == pytest.approx(board['input']['subsets']['All']['fMSE'], rel=1e-9)
    assert mean('fMSE') == pytest.approx(board['models'][0]['quality']['subsets']['All']['fMSE'], rel=1e-9)
    assert result['summary']['shrink'][1.0]['worse'] == board['models'][0]['quality']['worse_than_input']['fMSE']


def test_the_tool_prints_the_bins_and_says_bad_input_in_one_line(tiny_iharmony, tmp_path):
    import json
    import os
    import subprocess
    import sys
    tool = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'change_calibration.py')
    out = tmp_path / 'calibration.json'
    done = subprocess.run([sys.executable, tool, 'reinhard-lab', '--data-root', tiny_iharmony, '--shrink', '0.5',
                           '--out', str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert 'median step' in done.stdout and '0.5' in done.stdout
    written = json.loads(out.read_text())
    assert written['model'] == 'reinhard-lab' and set(written['summary']['shrink']) == {'1.0', '0.5'}
    missing = subprocess.run([sys.executable, tool, 'reinhard-lab', '--data-root', str(tmp_path / 'nowhere')],
                             capture_output=True, text=True)
    assert missing.returncode != 0 and 'Traceback' not in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1 and 'nowhere' in missing.stderr


def test_chroma_shift_is_the_foreground_chroma_difference_in_skimage_lab():
    """A saturated real object, its composite half-greyed and the model's output fully greyed: each shift is the
    foreground's mean CIELAB chroma minus the real one's (scikit-image's rgb2lab as the reference); background
    pixels do not count, and the summary counts the images greyer than the real object by more than 5."""
    from skimage.color import rgb2lab

    from toolkit.benchmark.calibration import GREYER_BY
    generator = np.random.default_rng(3)
    real = generator.integers(0, 256, (2, 6, 8, 3)).astype(np.float64)
    real[:, 2:5, 2:6] = [200.0, 60.0, 40.0]  # a red object
    grey = real.mean(-1, keepdims=True).repeat(3, -1)
    composite, output = 0.5 * real + 0.5 * grey, grey.copy()
    output[1] = real[1]  # the second image: the model restores the real colours exactly
    weights = np.zeros((2, 6, 8))
    weights[:, 2:5, 2:6] = 1.0

    def chroma(images):
        lab = rgb2lab(images / 255.0)
        return np.hypot(lab[..., 1], lab[..., 2])

    def mean_fg(values):
        return (values * weights).sum((1, 2)) / weights.sum((1, 2))

    def tensor(images):
        return torch.from_numpy(images).permute(0, 3, 1, 2)

    rows = image_calibration(tensor(composite), tensor(output), tensor(real), torch.from_numpy(weights)[:, None])
    expected_output = mean_fg(chroma(output)) - mean_fg(chroma(real))
    expected_input = mean_fg(chroma(composite)) - mean_fg(chroma(real))
    np.testing.assert_allclose([row['chroma_shift'] for row in rows], expected_output, atol=1e-3)
    np.testing.assert_allclose([row['input_chroma_shift'] for row in rows], expected_input, atol=1e-3)
    assert expected_output[0] < -GREYER_BY and abs(expected_output[1]) < 1e-3
    summary = summarize_calibration(rows)['chroma_shift']
    assert summary['output']['greyer_by_5'] == 1 and summary['input']['greyer_by_5'] == 2
    assert summary['output']['mean'] == pytest.approx(expected_output.mean(), abs=1e-3)


def test_the_tool_names_a_config_and_checkpoint_by_the_config(tiny_iharmony, tmp_path):
    """The chroma board is joined with the fMSE boards by name: CONFIG.py:CHECKPOINT is named as the config (as
    tools/full_res_eval.py names it), or as --name says; two checkpoints of one architecture do not collide."""
    import json
    import os
    import subprocess
    import sys
    repo = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
    config = 'configs/colorcurves/colorcurves_adam-6k-warm-3k_matched-256.py'
    spec = f'{config}:weights/colorcurves_adam-6k-warm-3k_matched-256.safetensors'
    for extra, expected in (([], 'colorcurves_adam-6k-warm-3k_matched-256'), (['--name', 'stage-2'], 'stage-2')):
        out = tmp_path / f'{expected}.json'
        done = subprocess.run([sys.executable, os.path.join(repo, 'tools', 'change_calibration.py'), spec,
                               '--data-root', tiny_iharmony, '--out', str(out), *extra], capture_output=True,
                              text=True, cwd=repo, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(out.read_text())['model'] == expected
