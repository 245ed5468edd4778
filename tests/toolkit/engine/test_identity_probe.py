"""The identity probe (toolkit/engine/probe.py): its error measure against hand-computed cases, and a short run."""
import os

import pytest
import torch

from toolkit.engine.probe import foreground_error_levels, identity_probe

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def test_foreground_error_is_the_mask_weighted_mean_in_levels():
    real = torch.zeros(1, 3, 2, 2)
    output = real.clone()
    output[0, :, 0, 0] = 10 / 127.5   # 10 levels off at a full-weight pixel
    output[0, :, 0, 1] = -20 / 127.5  # 20 levels off at a half-weight pixel
    output[0, :, 1, 1] = 1.0          # outside the mask: not counted
    mask = torch.tensor([[[[1.0, 0.5], [0.0, 0.0]]]])
    # (10 * 1 + 20 * 0.5) / (1 + 0.5) per channel
    assert foreground_error_levels(output, real, mask) == pytest.approx(40 / 3, rel=1e-6)


def test_foreground_error_refuses_empty_masks_and_mismatched_shapes():
    real = torch.zeros(1, 3, 2, 2)
    with pytest.raises(ValueError, match='empty'):
        foreground_error_levels(real, real, torch.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match='shapes differ'):
        foreground_error_levels(real, torch.zeros(1, 3, 2, 3), torch.ones(1, 1, 2, 2))


def test_probe_feeds_the_real_image_as_composite_and_measures_against_it(tiny_iharmony, monkeypatch):
    # a residual net with every weight zero outputs its input: the error is 0 only if the input is the real image
    # (the fixture's composites are the real photo darkened by half on the foreground, ~30+ levels away)
    import toolkit.models.builder as builder
    build = builder.build_model_from_config

    def build_zeroed(cfg):
        model, cfg = build(cfg)
        with torch.no_grad():
            for parameter in model.parameters():
                parameter.zero_()
        return model, cfg

    monkeypatch.setattr(builder, 'build_model_from_config', build_zeroed)
    config = os.path.join(REPO, 'configs', 'unet', 'unet-tiny_identity_adam-20i_samples-64.py')
    options = {'train_dataloader.dataset.data_root': tiny_iharmony, 'optim_wrapper.optimizer.lr': 0.0}
    records = identity_probe(config, iterations=3, batch_size=2, crop=32, log_interval=1, cfg_options=options)
    assert [record['iteration'] for record in records] == [1, 2, 3]
    assert all(record['fg_error'] == pytest.approx(0.0, abs=1e-4) for record in records)


def test_a_residual_net_learns_the_identity_in_a_few_steps(tiny_iharmony):
    config = os.path.join(REPO, 'configs', 'unet', 'unet-tiny_identity_adam-20i_samples-64.py')
    options = {'train_dataloader.dataset.data_root': tiny_iharmony, 'optim_wrapper.optimizer.lr': 5e-3}
    records = identity_probe(config, iterations=60, batch_size=2, crop=32, log_interval=30, cfg_options=options)
    assert [record['iteration'] for record in records] == [1, 30, 60]
    assert records[-1]['fg_error'] < 0.5 * records[0]['fg_error']
