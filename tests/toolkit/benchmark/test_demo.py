import os

from toolkit.benchmark.demo import local_zoo_models, run_demo

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def test_demo_scores_the_bundled_models_against_the_baselines(tmp_path):
    """`make demo` trains nothing and downloads nothing: the bundled default is on the board first, every file is
    written, and the verdict names the model with the lowest pooled fMSE (recomputed here from the rows). The six
    triplets are evaluation data: the demo reports on them, nothing is chosen on them (docs/zoo.md)."""
    from toolkit.zoo import default_model_name
    default, colorcurves = default_model_name(), 'colorcurves_adam-6k-warm-3k_matched-256'
    assert local_zoo_models()[0] == default
    models = [default] + [name for name in (colorcurves, 'unet-s_adam-3k_lalonde-efros-256') if name != default]
    result = run_demo(str(tmp_path), models=models, repeats=1)
    assert [model['name'] for model in result['models']] == ['copy-paste', 'reinhard-lab', 'histogram-matching',
                                                              *models]
    for name in ('leaderboard.json', 'leaderboard.csv', 'leaderboard.md', 'leaderboard.png', 'sheet.jpg'):
        assert (tmp_path / name).stat().st_size > 0
    rows = {model['name']: model['quality']['subsets']['All'] for model in result['models']}
    best = sorted(rows, key=lambda name: rows[name]['fMSE'])[0]
    assert result['verdict'].startswith(f'best: {best}.')
    assert rows['copy-paste']['fMSE'] == result['input']['subsets']['All']['fMSE']  # copy-paste is the input
    learned = {model['name']: model for model in result['models'][3:]}
    assert all(model['checkpoint_sha256'] for model in learned.values())
    assert learned[colorcurves]['efficiency']['params'] == _colorcurves_parameters()


def _colorcurves_parameters(channels=(16, 32, 64, 96, 128), hidden=256, segments=16, bins=16, pool_levels=2) -> int:
    """The colour-curve model's parameter count from its architecture (configs/_base_/models/colorcurves.py and
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
