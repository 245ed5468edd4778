"""Choosing the default on dev leaderboards only, and writing the choice into the index."""
import json
import shutil

import pytest

from toolkit.benchmark.selection import apply_selection, read_leaderboard, select_default, write_use


def _board(root, input_fmse, rows):
    return dict(dataset=dict(data_root=root), input=dict(subsets=dict(All=dict(fMSE=input_fmse, MSE=input_fmse / 2))),
                models=[dict(name=name, quality=dict(subsets=dict(All=dict(fMSE=fmse, MSE=fmse / 2))))
                        for name, fmse in rows.items()])


def test_rule_picks_the_best_on_the_real_dev_set_among_models_better_than_the_input():
    real = _board('data/real-dev', 1000.0, dict(a=600.0, b=400.0, c=300.0))
    synthetic = _board('data/bsds500-dev', 500.0, dict(a=200.0, b=250.0, c=900.0))
    selection = select_default([real, synthetic], ['a', 'b', 'c', 'absent'])
    # c is best on the real dev set but worse than the input on the synthetic split: comparison only
    assert selection.comparison_only == ['c'] and selection.default == 'b'
    assert [row['name'] for row in selection.table] == ['a', 'b', 'c']  # absent: not on the board


def test_a_model_missing_from_a_board_is_judged_on_the_others_and_one_on_no_board_is_left_alone(tmp_path):
    real = _board('data/real-dev', 1000.0, dict(a=600.0, b=400.0))
    synthetic = _board('data/bsds500-dev', 500.0, dict(a=200.0, b=450.0, late=900.0, fine=100.0))
    selection = select_default([real, synthetic], ['a', 'b', 'late', 'fine', 'unscored'])
    # `late` is worse than the input where it was scored; `fine` is better but cannot be the default unscored on
    # the real dev set; `unscored` is on no board
    assert selection.comparison_only == ['late'] and selection.default == 'b'
    assert selection.unscored == ['unscored']
    reasons = {row['name']: row['reasons'] for row in selection.table}
    assert reasons['fine'] == ['not on the first (real dev) board: cannot be the default']
    index = tmp_path / 'model-index.yml'
    index.write_text('Default Model: a\nImport:\n  - m.yml\n')
    (tmp_path / 'm.yml').write_text('Models:\n' + ''.join(
        f'  - Name: {name}\n    Config: {name}.py\n    Metadata:\n      Use: comparison only  # before\n'
        for name in ('late', 'fine', 'unscored')))
    apply_selection(selection, str(index), ['a', 'b', 'late', 'fine', 'unscored'], reason='dev')
    text = (tmp_path / 'm.yml').read_text()
    blocks = {block.split('\n')[0]: block for block in text.split('  - Name: ')[1:]}
    assert 'Use: comparison only' in blocks['late'] and 'Use' not in blocks['fine']
    assert 'Use: comparison only  # before' in blocks['unscored']  # untouched


def test_each_subset_counts_once():
    """A large subset does not outvote the others: the score is the mean over subsets."""
    def board(model_rows):
        def quality(rows):
            subsets = {name: dict(fMSE=value, MSE=value) for name, (value, _) in rows.items()}
            pooled = sum(value * count for value, count in rows.values()) / sum(c for _, c in rows.values())
            return dict(subsets=dict(subsets, All=dict(fMSE=pooled, MSE=pooled)))
        return dict(dataset=dict(data_root='dev'), input=quality(dict(big=(100.0, 100), small=(100.0, 5))),
                    models=[dict(name=name, quality=quality(rows)) for name, rows in model_rows.items()])
    # `big` is better on the 100-image subset, `broad` on both; pooled, `big` would win (99.0 vs 99.5)
    selection = select_default([board(dict(big=dict(big=(98.0, 100), small=(120.0, 5)),
                                           broad=dict(big=(99.5, 100), small=(99.5, 5))))], ['big', 'broad'])
    assert selection.default == 'broad' and selection.comparison_only == ['big']  # (98 + 120) / 2 > 100


def test_texture_damage_makes_a_model_comparison_only_even_when_its_fmse_is_better():
    def board(rows, input_fssim=0.84):
        return dict(dataset=dict(data_root='data/bsds500-dev'),
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


def test_leaderboards_of_evaluation_data_are_refused_as_the_benchmark_writes_them(tiny_iharmony, tmp_path):
    """The refusal reads the root the benchmark records (``dataset.data_root``): a board scored on a copy of the
    data under ``…/data/samples`` is refused, the same board under a dev path is read."""
    from toolkit.benchmark.runner import run_benchmark
    for where, refused in (('main/data/samples', True), ('shared/data/triplets', True), ('main/data/dev', False)):
        root = tmp_path / where
        shutil.copytree(tiny_iharmony, root)
        out = tmp_path / 'boards' / where.replace('/', '-')
        run_benchmark(['copy-paste'], str(root), str(out), efficiency=False)
        if refused:
            with pytest.raises(ValueError, match='evaluation data'):
                read_leaderboard(str(out / 'leaderboard.json'))
        else:
            assert read_leaderboard(str(out / 'leaderboard.json'))['dataset']['data_root'] == str(root)
    unlabelled = tmp_path / 'unlabelled.json'
    unlabelled.write_text(json.dumps(_board(None, 1.0, {})))
    with pytest.raises(ValueError, match='does not say which data'):
        read_leaderboard(str(unlabelled))


def _native_results(root, folder, models=('copy-paste', 'reinhard-lab')):
    """tools/full_res_eval.py --min-side 0 --out FOLDER/MODEL.json for each model (the first through the tool)."""
    import os
    import subprocess
    import sys

    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import compare_full_res
    folder.mkdir(parents=True, exist_ok=True)
    tool = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'tools', 'full_res_eval.py')
    first = subprocess.run([sys.executable, tool, models[0], '--data-root', str(root), '--min-side', '0', '--out',
                            str(folder / f'{models[0]}.json')], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    for model in models[1:]:
        result = compare_full_res(Harmonizer.from_pretrained(model), str(root), min_side=0)
        (folder / f'{model}.json').write_text(json.dumps(dict(result, model=model)))
    return {model: json.loads((folder / f'{model}.json').read_text()) for model in models}


def test_a_folder_of_native_results_is_a_board_of_what_harmonize_gives(tiny_iharmony, tmp_path):
    from toolkit.benchmark.selection import read_board, read_native_board
    root = tmp_path / 'data' / 'dev'
    shutil.copytree(tiny_iharmony, root)
    results = _native_results(root, tmp_path / 'native')
    board = read_board(str(tmp_path / 'native'))
    assert board['dataset']['data_root'] == str(root) and board['dataset']['resolution'] == 'native'
    rows = results['reinhard-lab']['per_image']
    subsets = board['models'][[m['name'] for m in board['models']].index('reinhard-lab')]['quality']['subsets']
    for subset in ('HCOCO', 'Hday2night'):
        values = [row['full-resolution transfer']['fMSE'] for row in rows if row['name'].startswith(subset + '/')]
        assert subsets[subset]['fMSE'] == pytest.approx(sum(values) / len(values))
    inputs = [row['input composite']['fMSE'] for row in rows]
    assert board['input']['subsets']['All']['fMSE'] == pytest.approx(sum(inputs) / len(inputs))
    copy = board['models'][[m['name'] for m in board['models']].index('copy-paste')]['quality']['subsets']
    assert copy['All']['fMSE'] == pytest.approx(board['input']['subsets']['All']['fMSE'])  # copy-paste = input
    selection = select_default([board], ['copy-paste', 'reinhard-lab'])
    assert {row['name'] for row in selection.table} == {'copy-paste', 'reinhard-lab'}
    # another image list in the same folder is refused
    other = dict(results['copy-paste'], per_image=results['copy-paste']['per_image'][:1], model='short')
    (tmp_path / 'native' / 'short.json').write_text(json.dumps(other))
    with pytest.raises(ValueError, match='other images'):
        read_native_board(str(tmp_path / 'native'))
    # results resized to 256² (full_res_eval --size) are not native: refused, with the file named
    (tmp_path / 'native' / 'short.json').unlink()
    resized = dict(results['copy-paste'], size=256, model='resized')
    (tmp_path / 'native' / 'resized.json').write_text(json.dumps(resized))
    with pytest.raises(ValueError, match=r'resized.json: scored at 256x256 \(--size\)'):
        read_native_board(str(tmp_path / 'native'))
    # the path's floor (full_res_eval --oracle) is not a model: refused, with the file named
    (tmp_path / 'native' / 'resized.json').unlink()
    floor = dict(results['copy-paste'], oracle=True, model='floor')
    (tmp_path / 'native' / 'floor.json').write_text(json.dumps(floor))
    with pytest.raises(ValueError, match=r"floor.json: the path's floor \(--oracle"):
        read_native_board(str(tmp_path / 'native'))


def test_native_results_of_evaluation_data_are_refused(tiny_iharmony, tmp_path):
    from toolkit.benchmark.selection import read_native_board
    root = tmp_path / 'main' / 'data' / 'samples'
    shutil.copytree(tiny_iharmony, root)
    _native_results(root, tmp_path / 'native', models=('copy-paste',))
    with pytest.raises(ValueError, match='evaluation data'):
        read_native_board(str(tmp_path / 'native'))


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


def _chroma_result(folder, model, shifts, root='data/real-dev'):
    """A tools/change_calibration.py --out result with the given per-image chroma shifts {subset: [values]}."""
    rows = [dict(name=f'{subset}/composite_images/{subset}{i}_1_1.jpg', subset=subset, chroma_shift=value)
            for subset, values in shifts.items() for i, value in enumerate(values)]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f'{model}.json').write_text(json.dumps(dict(model=model, data_root=root, per_image=rows)))


def test_a_model_that_greys_objects_cannot_be_the_default(tmp_path):
    """Chroma shifts are averaged per subset, then over subsets (as fMSE is): 'a' has -8 on its one HFlickr image
    and -1 on nine Hday2night ones, -1.7 pooled but -4.5 over subsets; 'b' greys by -6 and 'd' was not measured, so
    'c' is the default though 'b' and 'd' have lower fMSE; neither is comparison only for it."""
    from toolkit.benchmark.selection import read_chroma_board
    _chroma_result(tmp_path / 'chroma', 'a', dict(HFlickr=[-8.0], Hday2night=[-1.0] * 9))
    _chroma_result(tmp_path / 'chroma', 'b', dict(HFlickr=[-7.0, -5.0], Hday2night=[-6.0]))
    _chroma_result(tmp_path / 'chroma', 'c', dict(HFlickr=[float('nan'), -4.0], Hday2night=[-5.0]))
    chroma = read_chroma_board(str(tmp_path / 'chroma'))
    assert chroma == pytest.approx(dict(a=-4.5, b=-6.0, c=-4.5))
    real = _board('data/real-dev', 1000.0, dict(a=600.0, b=400.0, c=500.0, d=450.0))
    selection = select_default([real], ['a', 'b', 'c', 'd'], chroma)
    assert selection.default == 'c' and selection.comparison_only == []
    reasons = {row['name']: row['reasons'] for row in selection.table}
    assert 'greys objects' in reasons['b'][0] and 'no chroma measurement' in reasons['d'][0]
    assert select_default([real], ['a', 'b', 'c', 'd']).default == 'b'  # without the check: the lowest fMSE
    _chroma_result(tmp_path / 'eval', 'a', dict(HFlickr=[0.0]), root='/x/main/data/samples')
    with pytest.raises(ValueError, match='evaluation data'):
        read_chroma_board(str(tmp_path / 'eval'))
    _chroma_result(tmp_path / 'chroma', 'e', dict(HFlickr=[0.0]), root='data/bsds500-dev')
    with pytest.raises(ValueError, match='different datasets'):
        read_chroma_board(str(tmp_path / 'chroma'))
