"""Every shipped config parses and builds its model; the dataset configs point at the right layout."""
import glob
import os
import re

import pytest
import torch
from mmengine.config import Config

from toolkit.models import BaseHarmonizer, HarmonizationEnsemble
from toolkit.registry import MODELS

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
CONFIGS = sorted(path for path in glob.glob(os.path.join(REPO_ROOT, 'configs', '**', '*.py'), recursive=True)
                 if '_base_' not in path and f'{os.sep}retrieval{os.sep}' not in path)
RETRIEVAL_CONFIGS = sorted(glob.glob(os.path.join(REPO_ROOT, 'configs', 'retrieval', '*.py')))


def _without_hub_weights(encoder):
    # the hub download itself is tested against the fake hub (tests/toolkit/retrieval); here the same
    # architecture is built with random weights
    if encoder:
        encoder.weights = None


@pytest.mark.parametrize('path', CONFIGS, ids=[os.path.relpath(p, REPO_ROOT) for p in CONFIGS])
def test_config_builds(path):
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'toolkit'
    for name in cfg.get('custom_imports', {}).get('imports', []):
        __import__(name)
    _without_hub_weights(cfg.model.get('content_encoder'))
    model = MODELS.build(cfg.model)
    if isinstance(model, HarmonizationEnsemble):  # a mean of harmonizers, each built from its own config
        assert all(isinstance(member, BaseHarmonizer) for member in model.members) and len(model.members) >= 2
    else:
        assert isinstance(model, BaseHarmonizer)
    assert cfg.test_evaluator.type == 'HarmonizationMetric'


@pytest.mark.parametrize('path', RETRIEVAL_CONFIGS, ids=[os.path.relpath(p, REPO_ROOT) for p in RETRIEVAL_CONFIGS])
def test_retrieval_config_builds(path, tmp_path):
    from toolkit.registry import RETRIEVERS
    cfg = Config.fromfile(path)
    assert cfg.retriever.encoder.weights.repo_id == 'facebook/dinov2-with-registers-base'
    _without_hub_weights(cfg.retriever.encoder)
    retriever = RETRIEVERS.build(dict(cfg.retriever.to_dict(), gallery=str(tmp_path / 'gallery')))
    assert retriever.encoder.feature_dim == 768 and retriever.encoder.grid_size == 32
    # The light band is in the file name (``illum-LOW-HIGH``); without one it is Raiha's epsilon_a >= 0.9.
    band = re.search(r'illum-([0-9.]+)-([0-9.]+)\.py$', path)
    low, high = (float(band.group(1)), float(band.group(2))) if band else (0.9, None)
    assert (retriever.content_threshold, retriever.illumination_threshold) == (0.7, low)
    assert retriever.illumination_max == high


def _stated_parameters(path):
    """The parameter count a config's header comment states (``N parameters``), if any."""
    import re
    header = []
    for line in open(path, encoding='utf-8'):
        if not line.startswith('#'):
            break
        header.append(line)
    found = re.findall(r'(\d{1,3}(?:,\d{3})+) parameters', ' '.join(header))
    return int(found[0].replace(',', '')) if found else None


STATED = [path for path in CONFIGS if _stated_parameters(path)]


@pytest.mark.parametrize('path', STATED, ids=[os.path.relpath(p, REPO_ROOT) for p in STATED])
def test_stated_parameter_counts(path):
    """Configs that state their size in words (from the paper, the official checkpoint, or the zoo's table) build
    exactly that many inference parameters (training-only loss heads and a frozen content encoder excluded)."""
    from toolkit.models import build_model_from_config
    cfg = Config.fromfile(path)
    _without_hub_weights(cfg.model.get('content_encoder'))
    model, _ = build_model_from_config(cfg)
    excluded = {id(p) for p in model.losses.parameters()}
    encoder = getattr(model, 'content_encoder', None)
    if isinstance(encoder, torch.nn.Module):
        excluded |= {id(p) for p in encoder.parameters()}
    assert sum(p.numel() for p in model.parameters() if id(p) not in excluded) == _stated_parameters(path)
