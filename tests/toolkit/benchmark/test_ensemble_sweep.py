"""The ensemble weight sweep reproduces, at its end points, what the selection's own tools measure."""
import shutil

import numpy as np
import pytest

from toolkit.benchmark.ensemble_sweep import sweep_ensemble_weights


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
        subsets = sorted({row['name'].split('/')[0] for row in native})
        return np.mean([np.mean([v for row, v in zip(native, values) if row['name'].startswith(s + '/')])
                        for s in subsets])
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


def test_evaluation_data_and_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match='evaluation data'):
        sweep_ensemble_weights(['reinhard-lab', 'copy-paste'], str(tmp_path / 'main' / 'data' / 'samples'))
    with pytest.raises(ValueError, match='two models'):
        sweep_ensemble_weights(['reinhard-lab'], str(tmp_path))
    with pytest.raises(ValueError, match=r'in \[0, 1\]'):
        sweep_ensemble_weights(['reinhard-lab', 'copy-paste'], str(tmp_path), weights=(1.5,))
