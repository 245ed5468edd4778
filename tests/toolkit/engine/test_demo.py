import os

import pytest

from toolkit.engine.demo import run_demo

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def test_demo_compares_every_model(tmp_path):
    config = os.path.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-20i_samples-64.py')
    reports = run_demo(str(tmp_path), train_config=config)
    assert list(reports) == ['copy-paste', 'reinhard-lab', 'histogram-matching', 'unet-tiny-400it']
    copy_paste = reports['copy-paste']
    assert copy_paste['model']['subsets']['All']['MSE'] == pytest.approx(copy_paste['input']['subsets']['All']['MSE'])
    assert all(report['num_images'] == 6 for report in reports.values())
    markdown = (tmp_path / 'results.md').read_text()
    assert '| input composite | 6 |' in markdown and '## reinhard-lab' in markdown
