"""Every shipped config parses and builds its model; the dataset configs point at the right layout."""
import glob
import os

import pytest
from mmengine.config import Config

from toolkit.models import BaseHarmonizer
from toolkit.registry import MODELS

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONFIGS = sorted(path for path in glob.glob(os.path.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in path)


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.relpath(p, REPO_ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'toolkit'
    for name in cfg.get('custom_imports', {}).get('imports', []):
        __import__(name)
    model = MODELS.build(cfg.model)
    assert isinstance(model, BaseHarmonizer)
    assert cfg.test_evaluator.type == 'HarmonizationMetric'
