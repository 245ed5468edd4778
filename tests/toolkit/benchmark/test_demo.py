import os

from toolkit.benchmark.demo import local_zoo_models, run_demo

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
    assert result['models'][3]['checkpoint_sha256']
    assert result['models'][3]['efficiency']['params'] == _colorcurves_parameters()


def _colorcurves_parameters(channels=(16, 32, 64, 96, 128), hidden=256, segments=16, bins=16, pool_levels=2) -> int:
    """The default model's parameter count from its architecture (configs/_base_/models/colorcurves.py and
    docs/colorcurves.md): 3×3 stride-2 convolutions without bias, each followed by BatchNorm (2 per channel); an
    MLP over the pooled features of the two deepest levels (foreground and background) and the colour statistics
    (mean, std and histogram per channel, foreground and background, plus the two area fractions) that outputs a
    3×3 matrix, an offset and K + 1 knots per channel."""
    widths = (4, *channels)  # RGB + mask in
    convolutions = sum(9 * widths[i] * widths[i + 1] + 2 * widths[i + 1] for i in range(len(channels)))
    inputs = 2 * sum(channels[-pool_levels:]) + 2 * 3 * (2 + bins) + 2
    outputs = 9 + 3 + 3 * (segments + 1)
    mlp = (inputs * hidden + hidden) + (hidden * hidden + hidden) + (hidden * outputs + outputs)
    return convolutions + mlp
