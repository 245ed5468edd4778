import os

from toolkit.engine.demo import run_demo

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def test_demo_writes_the_leaderboard(tmp_path):
    config = os.path.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-20i_samples-64.py')
    result = run_demo(str(tmp_path), train_config=config, repeats=1)
    assert [model['name'] for model in result['models']] == ['copy-paste', 'reinhard-lab', 'histogram-matching',
                                                              'unet-tiny@iter_20']
    for name in ('leaderboard.json', 'leaderboard.csv', 'leaderboard.md', 'leaderboard.png'):
        assert (tmp_path / name).stat().st_size > 0
    unet = result['models'][3]
    assert unet['checkpoint_sha256'] and unet['efficiency']['params'] > 0
