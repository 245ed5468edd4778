import os

from toolkit.engine.demo import local_zoo_models, run_demo

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def test_demo_scores_the_bundled_default_against_the_baselines(tmp_path):
    """`make demo` trains nothing and downloads nothing: the bundled default model is on the board, and on the six
    real triplets it beats the input and every non-learned baseline in fMSE and MSE (the zoo's promise)."""
    from toolkit.zoo import default_model_name
    default = default_model_name()
    assert local_zoo_models()[0] == default
    result = run_demo(str(tmp_path), models=[default], repeats=1)
    assert [model['name'] for model in result['models']] == ['copy-paste', 'reinhard-lab', 'histogram-matching',
                                                              default]
    for name in ('leaderboard.json', 'leaderboard.csv', 'leaderboard.md', 'leaderboard.png', 'sheet.jpg'):
        assert (tmp_path / name).stat().st_size > 0
    rows = {model['name']: model['quality']['subsets']['All'] for model in result['models']}
    for baseline in ('copy-paste', 'reinhard-lab', 'histogram-matching'):
        assert rows[default]['fMSE'] < rows[baseline]['fMSE'] and rows[default]['MSE'] < rows[baseline]['MSE']
    assert result['verdict'].startswith(f'best: {default}.')
    assert result['models'][3]['checkpoint_sha256'] and result['models'][3]['efficiency']['params'] == 415_263
