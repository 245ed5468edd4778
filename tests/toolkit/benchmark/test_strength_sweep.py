"""The strength sweep scores each strength as the Harmonizer gives it and full_res_eval scores it."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from tests.conftest import subset_mean
from toolkit.benchmark.strength_sweep import change_moments, sweep_strengths

TOOL = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'strength_sweep.py')


def _run_tool(*args):
    return subprocess.run([sys.executable, TOOL, *args], capture_output=True, text=True)


@pytest.fixture
def dev_root(tiny_iharmony, tmp_path):
    root = str(tmp_path / 'dev')
    shutil.copytree(tiny_iharmony, root)
    return root


@pytest.mark.parametrize('model', ['reinhard-lab', 'colorcurves_adam-6k-warm-3k-warm-3k_matched-256',
                                   'unet-s_adam-3k_lalonde-efros-256'])
def test_each_strength_is_the_harmonizer_at_that_strength_bit_for_bit(model):
    """One network pass, every strength: the outputs equal separate harmonize calls with ``strength`` set (a colour
    transfer, a colour-function model and a fitted colour change, on a composite larger than the network's input)."""
    from toolkit.apis import Harmonizer
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (300, 420, 3), dtype=np.uint8)
    image[:, 200:] = (image[:, 200:] * 0.4 + np.array([150, 90, 30]) * 0.6).astype(np.uint8)
    mask = np.zeros((300, 420), np.uint8)
    mask[80:220, 240:380] = 255
    harmonizer = Harmonizer.from_pretrained(model)
    swept = dict(harmonizer.harmonize_at_strengths(image, mask, [0.3, 1.0, 0.0]))
    assert list(swept) == [0.3, 1.0, 0.0]
    assert (swept[0.0] == image).all()
    for strength in (0.3, 1.0):
        alone = Harmonizer.from_pretrained(model, strength=strength).harmonize(image, mask)
        assert np.array_equal(swept[strength], alone), strength
    assert not np.array_equal(swept[0.3], swept[1.0])  # the strengths are not all the same output


def test_rows_are_what_full_res_eval_scores_at_each_strength(dev_root):
    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import compare_full_res
    result = sweep_strengths('reinhard-lab', dev_root, strengths=(0.0, 0.5, 1.0))
    rows = {row['strength']: row for row in result['rows']}
    assert result['images'] == 3
    for strength in (0.5, 1.0):
        native = compare_full_res(Harmonizer.from_pretrained('reinhard-lab', strength=strength), dev_root,
                                  min_side=0)['per_image']
        for key in ('fMSE', 'fSSIM'):
            values = [row['full-resolution transfer'][key] for row in native]
            assert rows[strength][key] == pytest.approx(subset_mean(native, values), rel=1e-9)
        inputs = [row['input composite']['fMSE'] for row in native]
        assert rows[strength]['worse'] == sum(v > i for v, i in
                                              zip([row['full-resolution transfer']['fMSE'] for row in native], inputs))
        assert result['input_fMSE'] == pytest.approx(subset_mean(native, inputs))
    assert rows[0.0]['fMSE'] == pytest.approx(result['input_fMSE']) and rows[0.0]['worse'] == 0


def test_the_quadratic_predicts_the_rounded_outputs_and_its_minimum_is_the_best_strength(dev_root):
    """``A + 2sB + s²C`` from the strength-1 output predicts what the Harmonizer delivers at other strengths (to its
    8-bit rounding), and ``best_fMSE`` is no worse than any strength of the grid nor than the input."""
    result = sweep_strengths('histogram-matching', dev_root, strengths=(0.25, 0.5, 0.75, 1.0))
    for row in result['per_image']:
        for strength in (0.25, 0.5, 0.75):
            predicted = row['A'] + 2 * strength * row['B'] + strength ** 2 * row['C']
            assert row['fMSE'][strength] == pytest.approx(predicted, abs=1.0, rel=1e-2)
        assert row['A'] == pytest.approx(row['input_fMSE'], rel=1e-9)
        assert row['best_fMSE'] <= min(row['input_fMSE'], *row['fMSE'].values()) + 1.0
        assert 0.0 <= row['best_strength'] <= 1.0
    assert result['best_per_image']['worse'] == 0
    assert result['best_per_image']['fMSE'] <= min(row['fMSE'] for row in result['rows']) + 1.0


def test_change_moments_on_a_hand_computed_soft_mask():
    real = np.zeros((1, 2, 3))
    composite = np.array([[[10.0] * 3, [20.0] * 3]])
    output = np.array([[[4.0] * 3, [20.0] * 3]])  # the first pixel moves 6 toward the real, the second stays
    mask = np.array([[1.0, 0.5]])
    moments = change_moments(composite, output, real, mask)
    # weights 1 and 0.5: A = (100 + 0.5·400) / 1.5, B = (10·(−6)) / 1.5, C = 36 / 1.5
    assert moments['A'] == pytest.approx(200.0) and moments['B'] == pytest.approx(-40.0)
    assert moments['C'] == pytest.approx(24.0)
    assert moments['best_strength'] == 1.0  # -B / C = 5/3, clipped: the change is too small, not too large
    assert moments['best_fMSE'] == pytest.approx(200 - 80 + 24)
    assert change_moments(composite, composite, real, mask)['best_strength'] == 0.0
    with pytest.raises(ValueError, match='no foreground'):
        change_moments(composite, output, real, np.zeros((1, 2)))


def test_evaluation_data_and_bad_strengths_are_refused_in_one_line(dev_root, samples_root):
    with pytest.raises(ValueError, match='evaluation data'):
        sweep_strengths('reinhard-lab', samples_root)
    with pytest.raises(ValueError, match='strength must be a number from 0 to 1'):
        sweep_strengths('reinhard-lab', dev_root, strengths=(0.5, 1.5))
    for args, message in ((['--data-root', dev_root, '--strengths', '2'], 'error: strength must be'),
                          (['--data-root', samples_root], 'error: '),
                          (['--data-root', os.path.join(dev_root, 'missing')], 'error: ')):
        run = _run_tool('reinhard-lab', *args)
        assert run.returncode == 1 and run.stderr.startswith(message), run.stderr
        assert run.stderr.count('\n') == 1 and 'Traceback' not in run.stderr


def test_cli_prints_the_table_and_writes_per_image_values(dev_root, tmp_path):
    out = tmp_path / 'sweep.json'
    run = _run_tool('reinhard-lab', '--data-root', dev_root, '--strengths', '0.5', '1', '--out', str(out))
    assert run.returncode == 0, run.stderr
    printed = run.stdout
    assert '| 0.5 |' in printed and '| 1 |' in printed and 'best strength' in printed
    written = json.loads(out.read_text())
    assert [row['strength'] for row in written['rows']] == [0.5, 1.0]
    assert len(written['per_image']) == 3 and {'A', 'B', 'C', 'best_strength'} <= set(written['per_image'][0])


GATE_TOOL = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'agreement_gate.py')
TWO_MEMBERS = 'ensemble_colorcurves-clharmony-s-adain_chroma-mean_matched-256'


def test_member_agreement_against_the_pixelwise_definition():
    """R = ‖Σ wᵢdᵢ‖² / Σ wᵢ‖dᵢ‖², foreground-weighted, computed pixel by pixel in plain Python; 1 for identical
    changes, unchanged by scaling every change, never above 1 (Jensen)."""
    from toolkit.benchmark.strength_sweep import member_agreement
    rng = np.random.default_rng(5)
    changes = [rng.normal(size=(4, 5, 3)) * scale for scale in (3.0, 8.0, 1.0)]
    mask = rng.uniform(size=(4, 5))
    weights = [0.4, 0.3, 0.3]
    top = bottom = 0.0
    for y in range(4):
        for x in range(5):
            mixed = [sum(w * d[y, x, c] for w, d in zip(weights, changes)) for c in range(3)]
            top += mask[y, x] * sum(value ** 2 for value in mixed)
            bottom += mask[y, x] * sum(w * sum(d[y, x, c] ** 2 for c in range(3)) for w, d in zip(weights, changes))
    assert member_agreement(changes, [4, 3, 3], mask) == pytest.approx(top / bottom, rel=1e-12)
    assert member_agreement([c * 7 for c in changes], weights, mask) == pytest.approx(top / bottom, rel=1e-12)
    assert member_agreement([changes[0]] * 3, weights, mask) == pytest.approx(1.0)
    assert 0.0 <= top / bottom <= 1.0
    assert member_agreement([np.zeros((4, 5, 3))] * 2, [1, 1], mask) == 1.0  # nobody moves: nothing to disagree on
    with pytest.raises(ValueError, match='no foreground'):
        member_agreement(changes, weights, np.zeros((4, 5)))


def test_a_uniform_gate_is_the_measured_uniform_strength(dev_root):
    """Every image gated to s = 0.5 scores what the Harmonizer measured at strength 0.5 (to 8-bit rounding); a gate
    at or above τ is strength 1, exactly the measured row."""
    from toolkit.benchmark.strength_sweep import gated_rows
    result = sweep_strengths('histogram-matching', dev_root, strengths=(0.5, 1.0))
    measured = {row['strength']: row for row in result['rows']}
    half, whole = gated_rows(result['per_image'], [0.25] * 3, [0.5, 0.25])
    assert half['mean_strength'] == 0.5 and whole['mean_strength'] == 1.0
    assert half['fMSE'] == pytest.approx(measured[0.5]['fMSE'], abs=1.0, rel=1e-2)
    assert whole['fMSE'] == pytest.approx(measured[1.0]['fMSE'], rel=1e-9)
    assert whole['worse'] == measured[1.0]['worse']
    with pytest.raises(ValueError, match='2 gate values for 3 images'):
        gated_rows(result['per_image'], [1.0, 1.0], [0.5])


def test_ensemble_agreement_runs_each_member_at_the_network_size(dev_root):
    """Per image, the members loaded by their own zoo names, their own outputs on the composite resized to 256 (not
    the colour change the full-resolution path would carry), give the same R."""
    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import native_triplets
    from toolkit.benchmark.strength_sweep import ensemble_agreement, member_agreement
    from toolkit.datasets.transforms.processing import resize_image, resize_mask
    agreement = ensemble_agreement(TWO_MEMBERS, dev_root)
    members = [Harmonizer.from_pretrained(name) for name in
               ('colorcurves_adam-6k-warm-3k-warm-3k_matched-256',
                'clharmony-s_l1-pixel-adain_adamw-stylefusion-6k-warm-1500i_matched-256')]
    names = []
    for info, composite, _, mask in native_triplets(dev_root):
        names.append(info['name'])
        low, low_mask = resize_image(composite, (256, 256)), resize_mask(mask, (256, 256))
        changes = [member.harmonize(low, low_mask, full_res=False).astype(float) - low for member in members]
        assert agreement[info['name']] == pytest.approx(member_agreement(changes, [1, 1], low_mask), rel=1e-9)
        assert 0.0 < agreement[info['name']] < 1.0  # two different networks never change a composite alike
    assert list(agreement) == names
    with pytest.raises(ValueError, match='not an ensemble'):
        ensemble_agreement('reinhard-lab', dev_root)


def test_the_gate_tool_refuses_a_sweep_of_another_model_in_one_line(dev_root, tmp_path):
    sweep = tmp_path / 'sweep.json'
    assert _run_tool('reinhard-lab', '--data-root', dev_root, '--strengths', '1', '--out', str(sweep)).returncode == 0
    run = subprocess.run([sys.executable, GATE_TOOL, TWO_MEMBERS, '--data-root', dev_root, '--sweep', str(sweep)],
                         capture_output=True, text=True)
    assert run.returncode == 1
    assert run.stderr == f'error: {sweep}: a sweep of reinhard-lab, not of {TWO_MEMBERS}\n'


def test_the_gate_tool_prints_the_gates_beside_the_uniform_strengths(dev_root, tmp_path):
    sweep, out = tmp_path / 'sweep.json', tmp_path / 'gate.json'
    assert _run_tool(TWO_MEMBERS, '--data-root', dev_root, '--strengths', '0.5', '1', '--out', str(sweep)
                     ).returncode == 0
    run = subprocess.run([sys.executable, GATE_TOOL, TWO_MEMBERS, '--data-root', dev_root, '--sweep', str(sweep),
                          '--thresholds', '0.6', '--out', str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert '| uniform 0.5 |' in run.stdout and '| min(1, R / 0.6) |' in run.stdout
    written = json.loads(out.read_text())
    assert [row['threshold'] for row in written['rows']] == [0.6]
    assert sorted(written['agreement']) == sorted(row['name'] for row in json.loads(sweep.read_text())['per_image'])
