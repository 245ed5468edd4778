"""Choosing the default on dev leaderboards only, and writing the choice into the index."""
import json
import shutil

import pytest

from toolkit.benchmark.selection import apply_selection, read_leaderboard, select_default, write_use


def _board(root, input_fmse, rows):
    return dict(dataset=dict(root=root), input=dict(subsets=dict(All=dict(fMSE=input_fmse, MSE=input_fmse / 2))),
                models=[dict(name=name, quality=dict(subsets=dict(All=dict(fMSE=fmse, MSE=fmse / 2))))
                        for name, fmse in rows.items()])


def test_rule_picks_the_best_on_the_real_dev_set_among_models_better_than_the_input():
    real = _board('data/real-dev', 1000.0, dict(a=600.0, b=400.0, c=300.0))
    synthetic = _board('data/bsds500-dev', 500.0, dict(a=200.0, b=250.0, c=900.0))
    selection = select_default([real, synthetic], ['a', 'b', 'c', 'absent'])
    # c is best on the real dev set but worse than the input on the synthetic split: comparison only
    assert selection.comparison_only == ['c'] and selection.default == 'b'
    assert [row['name'] for row in selection.table] == ['a', 'b', 'c']  # absent: not on the board


def test_each_subset_counts_once():
    """A large subset does not outvote the others: the score is the mean over subsets."""
    def board(model_rows):
        def quality(rows):
            subsets = {name: dict(fMSE=value, MSE=value) for name, (value, _) in rows.items()}
            pooled = sum(value * count for value, count in rows.values()) / sum(c for _, c in rows.values())
            return dict(subsets=dict(subsets, All=dict(fMSE=pooled, MSE=pooled)))
        return dict(dataset=dict(root='dev'), input=quality(dict(big=(100.0, 100), small=(100.0, 5))),
                    models=[dict(name=name, quality=quality(rows)) for name, rows in model_rows.items()])
    # `big` is better on the 100-image subset, `broad` on both; pooled, `big` would win (99.0 vs 99.5)
    selection = select_default([board(dict(big=dict(big=(98.0, 100), small=(120.0, 5)),
                                           broad=dict(big=(99.5, 100), small=(99.5, 5))))], ['big', 'broad'])
    assert selection.default == 'broad' and selection.comparison_only == ['big']  # (98 + 120) / 2 > 100


def test_texture_damage_makes_a_model_comparison_only_even_when_its_fmse_is_better():
    def board(rows, input_fssim=0.84):
        return dict(dataset=dict(root='data/bsds500-dev'),
                    input=dict(subsets=dict(All=dict(fMSE=1000.0, MSE=100.0, fSSIM=input_fssim))),
                    models=[dict(name=name, quality=dict(subsets=dict(All=dict(fMSE=fmse, MSE=90.0, fSSIM=fssim))))
                            for name, (fmse, fssim) in rows.items()])
    # `blurry` has the lower fMSE but loses 0.05 of foreground SSIM (> 0.02); `sharp` loses 0.01
    selection = select_default([board(dict(blurry=(700.0, 0.79), sharp=(800.0, 0.83)))], ['blurry', 'sharp'])
    assert selection.default == 'sharp' and selection.comparison_only == ['blurry']
    reasons = {row['name']: row['reasons'] for row in selection.table}
    assert reasons == dict(blurry=['fSSIM more than 0.02 below the input'], sharp=[])
    # boards without fSSIM (older leaderboards) decide on fMSE alone
    legacy = _board('dev', 1000.0, dict(blurry=700.0, sharp=800.0))
    assert select_default([legacy], ['blurry', 'sharp']).default == 'blurry'


def test_evaluation_data_is_refused(tmp_path):
    for root in ('/x/main/data/samples', '/x/shared/data/triplets'):
        path = tmp_path / 'board.json'
        path.write_text(json.dumps(_board(root, 1.0, {})))
        with pytest.raises(ValueError, match='evaluation data'):
            read_leaderboard(str(path))


def test_the_index_is_written_from_the_selection(tmp_path):
    index = tmp_path / 'model-index.yml'
    index.write_text('# comment kept\nDefault Model: old\nImport:\n  - configs/x/metafile.yml\n')
    (tmp_path / 'configs' / 'x').mkdir(parents=True)
    metafile = tmp_path / 'configs' / 'x' / 'metafile.yml'
    metafile.write_text('Models:\n'
                        '  - Name: a\n    Config: a.py\n    Metadata:\n      Use: comparison only  # old reason\n'
                        '      Parameters: 5\n    Weights: null\n\n'
                        '  - Name: b\n    Config: b.py\n    Weights: null\n')
    selection = select_default([_board('dev', 100.0, dict(a=50.0, b=150.0))], ['a', 'b'])
    changed = apply_selection(selection, str(index), ['a', 'b'], reason='worse than the input on the dev set')
    assert changed == dict(default=True, use=['a', 'b'])
    assert index.read_text().startswith('# comment kept\nDefault Model: a\n')
    text = metafile.read_text()
    assert 'Use: comparison only  # old reason' not in text and '      Parameters: 5' in text
    assert '  - Name: b\n    Config: b.py\n    Metadata:\n      Use: comparison only  # worse than' in text
    copy = tmp_path / 'again.yml'
    shutil.copy(metafile, copy)
    assert write_use(str(copy), {'a': None, 'b': 'comparison only'}, 'worse than the input on the dev set') == []
