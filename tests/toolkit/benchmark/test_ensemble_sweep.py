"""The ensemble weight sweep reproduces, at its end points, what the selection's own tools measure."""
import shutil

import pytest

from tests.conftest import subset_mean
from toolkit.benchmark.ensemble_sweep import sweep_ensemble_weights, weight_vectors


def test_end_points_are_the_members_as_full_res_eval_and_change_calibration_score_them(tiny_iharmony, tmp_path):
    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import compare_full_res
    from toolkit.benchmark.calibration import calibrate
    root = str(tmp_path / 'dev')
    shutil.copytree(tiny_iharmony, root)
    result = sweep_ensemble_weights(['reinhard-lab', 'copy-paste'], root, weights=(1.0, 0.5, 0.0))
    rows = {row['weight']: row for row in result['rows']}
    native = compare_full_res(Harmonizer.from_pretrained('reinhard-lab'), root, min_side=0)['per_image']

    def over_subsets(values):
        return subset_mean(native, values)
    reinhard = [row['full-resolution transfer']['fMSE'] for row in native]
    inputs = [row['input composite']['fMSE'] for row in native]
    assert rows[1.0]['fMSE'] == pytest.approx(over_subsets(reinhard), rel=1e-6)
    assert rows[1.0]['worse'] == sum(r > i for r, i in zip(reinhard, inputs))
    assert rows[0.0]['fMSE'] == pytest.approx(over_subsets(inputs)) == pytest.approx(result['input_fMSE'])
    assert rows[0.0]['worse'] == 0  # copy-paste is the input: never worse
    # the squared error is convex: a half-and-half mix is no worse than its members' mean (up to rounding)
    assert rows[0.5]['fMSE'] <= (rows[0.0]['fMSE'] + rows[1.0]['fMSE']) / 2 + 0.5
    chroma = calibrate('reinhard-lab', root)['per_image']
    assert rows[1.0]['chroma_shift'] == pytest.approx(
        over_subsets([next(c['chroma_shift'] for c in chroma if c['name'] == row['name']) for row in native]))
    assert rows[0.0]['chroma_shift'] == pytest.approx(
        over_subsets([next(c['input_chroma_shift'] for c in chroma if c['name'] == row['name']) for row in native]))


def test_three_members_mix_as_the_ensemble_does_and_a_zero_weight_drops_a_member(tiny_iharmony, tmp_path):
    """A vertex of the simplex is one member alone; a zero weight gives the two-member sweep's number; an interior
    point equals what HarmonizationEnsemble with those weights scores through the full-resolution path."""
    from mmengine.config import Config

    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import compare_full_res
    from toolkit.registry import MODELS
    root = str(tmp_path / 'dev')
    shutil.copytree(tiny_iharmony, root)
    members = ['reinhard-lab', 'histogram-matching', 'copy-paste']
    three = sweep_ensemble_weights(members, root, weights=[(0, 1, 0), (0.5, 0, 0.5), (0.5, 0.25, 0.25)],
                                   colour_mean='chroma')
    two = sweep_ensemble_weights(['reinhard-lab', 'copy-paste'], root, weights=(0.5,), colour_mean='chroma')
    rows = {tuple(row['weights']): row for row in three['rows']}
    assert [row['weight'] for row in three['rows']] == [0, 0.5, 0.5]
    def native_score(harmonizer):
        per_image = compare_full_res(harmonizer, root, min_side=0)['per_image']
        return subset_mean(per_image, [row['full-resolution transfer']['fMSE'] for row in per_image])
    assert rows[(0, 1, 0)]['fMSE'] == pytest.approx(native_score(Harmonizer.from_pretrained('histogram-matching')),
                                                    rel=1e-6)
    for key in ('fMSE', 'worse', 'chroma_shift'):
        assert rows[(0.5, 0, 0.5)][key] == pytest.approx(two['rows'][0][key])
    configs = [Config.fromfile(f'configs/baselines/{name}_iharmony4-256.py').model for name in members]

    def ensemble_score(weights):
        ensemble = MODELS.build(dict(type='HarmonizationEnsemble', members=configs, weights=weights,
                                     colour_mean='chroma'))
        return native_score(Harmonizer(ensemble))
    # the sweep mixes what each member delivers (8-bit, after its soft-mask blend); the ensemble mixes the members'
    # float bands and rounds once: the two agree to rounding, far closer than another weighting of the same members
    swept, same, other = rows[(0.5, 0.25, 0.25)]['fMSE'], ensemble_score([2, 1, 1]), ensemble_score([1, 1, 2])
    assert swept == pytest.approx(same, rel=2e-3)
    assert abs(swept - same) < abs(swept - other) / 4


def test_weight_vectors_read_a_number_as_w_and_one_minus_w_and_check_each_point():
    assert weight_vectors([0.7], 2) == [(0.7, 1 - 0.7)]
    assert weight_vectors([(0.2, 0.3, 0.5)], 3) == [(0.2, 0.3, 0.5)]
    with pytest.raises(ValueError, match='needs two models'):
        weight_vectors([0.5], 3)
    with pytest.raises(ValueError, match='sum to 1'):
        weight_vectors([(0.5, 0.3, 0.3)], 3)
    with pytest.raises(ValueError, match='3 models but'):
        weight_vectors([(0.5, 0.5)], 3)


def test_evaluation_data_and_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match='evaluation data'):
        sweep_ensemble_weights(['reinhard-lab', 'copy-paste'], str(tmp_path / 'main' / 'data' / 'samples'))
    with pytest.raises(ValueError, match='two models or more'):
        sweep_ensemble_weights(['reinhard-lab'], str(tmp_path))
    with pytest.raises(ValueError, match=r'in \[0, 1\]'):
        sweep_ensemble_weights(['reinhard-lab', 'copy-paste'], str(tmp_path), weights=(1.5,))
