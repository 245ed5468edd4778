"""HarmonizationEnsemble: the weighted mean of its members, at the network's size and through the full-resolution
path, with the members' own zoo weights (verified) and clear refusals."""
import os

import numpy as np
import pytest
import torch
import yaml

from toolkit import zoo
from toolkit.apis import Harmonizer
from toolkit.hub import HubError
from toolkit.models import HarmonizationEnsemble
from toolkit.ops.color_transfer import histogram_matching, reinhard_lab

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
REINHARD = 'configs/baselines/reinhard-lab_iharmony4-256.py'
HISTOGRAM = 'configs/baselines/histogram-matching_iharmony4-256.py'
CURVES = 'colorcurves_adam-6k-warm-3k-warm-3k_matched-256'
CL = 'clharmony-s_l1-pixel-stylefusion_adamw-1500i-warm-1500i-warm-1500i-warm-1500i_matched-256'
ENSEMBLE = 'ensemble_colorcurves-0p7-clharmony-s-0p3_matched-256'


def _pair(seed=0, size=(64, 64)):
    rng = np.random.default_rng(seed)
    composite = rng.integers(0, 256, (1, 3, *size), dtype=np.uint8)
    mask = np.zeros((1, 1, *size), np.float32)
    mask[..., size[0] // 4:3 * size[0] // 4, size[1] // 4:3 * size[1] // 4] = 1
    return torch.from_numpy(composite), torch.from_numpy(mask)


def test_prediction_is_the_weighted_mean_of_the_colour_transfer_functions():
    """Independent reference: the two transfer functions called directly, blended into the background by hand."""
    composite, mask = _pair()
    ensemble = HarmonizationEnsemble([REINHARD, HISTOGRAM], weights=[3, 1])
    assert ensemble.member_weights == (0.75, 0.25)
    data = ensemble.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask)))
    output = ensemble(**data, mode='predict')[0].pred_img
    images = composite.float()
    expected = 0.75 * reinhard_lab(images, mask).clamp(0, 255) + 0.25 * histogram_matching(images, mask).clamp(0, 255)
    expected = expected * mask + images * (1 - mask)
    assert torch.allclose(output, expected[0], atol=0.02)
    assert torch.equal(ensemble(**data, mode='tensor')[0], output)


def test_refusals_are_clear():
    with pytest.raises(ValueError, match='at least two members'):
        HarmonizationEnsemble([REINHARD])
    with pytest.raises(ValueError, match='2 ensemble members but 3 weights'):
        HarmonizationEnsemble([REINHARD, HISTOGRAM], weights=[1, 1, 1])
    with pytest.raises(ValueError, match='must be positive'):
        HarmonizationEnsemble([REINHARD, HISTOGRAM], weights=[1, -1])
    with pytest.raises(FileNotFoundError, match='configs/none.py does not exist'):
        HarmonizationEnsemble([REINHARD, 'configs/none.py'])
    ensemble = HarmonizationEnsemble([REINHARD, HISTOGRAM])
    composite, mask = _pair()
    data = ensemble.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask)))
    with pytest.raises(RuntimeError, match='not trained as a whole'):
        ensemble(**data, mode='loss')


def test_full_resolution_output_is_the_mean_of_what_each_member_delivers():
    """Each member carried to full resolution its own way (the curves' exact colour function, the CL network's
    fitted transform), clipped as its own output would be, then averaged: within a level of the members' own
    full-resolution outputs averaged by hand. Bright regions make the curves exceed 255 before clipping (the mean of
    unclipped levels was up to 9 levels off). The old path fitted one colour transform to the mean at 256²."""
    rng = np.random.default_rng(1)
    image = rng.integers(120, 256, (300, 460, 3), dtype=np.uint8)
    image[:, 230:] = (250, 240, 90)  # a bright, saturated background pulls the foreground up
    mask = np.zeros((300, 460), np.uint8)
    mask[60:240, 60:200] = 255
    ensemble = Harmonizer.from_pretrained(ENSEMBLE)
    members = [Harmonizer.from_pretrained(name).harmonize(image, mask).astype(np.float64) for name in (CURVES, CL)]
    expected = 0.7 * members[0] + 0.3 * members[1]
    output = ensemble.harmonize(image, mask)
    assert output.shape == image.shape and output.dtype == np.uint8
    assert np.abs(output - expected).max() <= 1.0
    assert np.array_equal(output[mask == 0], image[mask == 0])
    assert np.abs(members[0] - members[1]).max() > 10  # the members disagree: the mean is not either of them


def test_zoo_loads_each_members_own_verified_weights():
    info = zoo.get_model_info(ENSEMBLE)
    assert isinstance(info.weights, zoo.EnsembleWeights) and info.weights.members == (CURVES, CL)
    assert info.weights_status == 'bundled'
    model = zoo.get_model(ENSEMBLE)
    for member, name in zip(model.members, (CURVES, CL)):
        reference = zoo.get_model(name).state_dict()
        assert all(torch.equal(reference[key], value) for key, value in member.state_dict().items())
    from toolkit.benchmark.models import build_model, check_scorable, resolve_model
    spec = resolve_model(ENSEMBLE)  # the leaderboard path: the members' files, fingerprinted together
    assert spec.extra['member_weights'] == zoo.member_weights_paths(ENSEMBLE) and spec.checkpoint_sha256
    built = build_model(spec)
    check_scorable(spec, built)
    assert torch.equal(built.members[1].state_dict()[next(iter(reference))], next(iter(reference.values())))


def test_index_members_must_match_the_config_and_be_released(tmp_path, monkeypatch):
    shipped = zoo.load_index()
    entries = [{'Name': name, 'Config': shipped[name].config,
                'Weights': {'file': shipped[name].weights.path, 'sha256': shipped[name].weights.sha256}}
               for name in (CURVES, CL)]
    entries.append({'Name': 'unreleased', 'Config': shipped[CL].config, 'Weights': None})
    config = shipped[ENSEMBLE].config
    entries += [{'Name': 'swapped', 'Config': config, 'Weights': {'members': [CL, CURVES]}},
                {'Name': 'half-released', 'Config': config, 'Weights': {'members': [CURVES, 'unreleased']}},
                {'Name': 'one-member', 'Config': config, 'Weights': {'members': [CURVES]}}]
    index = tmp_path / 'model-index.yml'
    index.write_text(yaml.safe_dump({'Models': entries[:-1]}))
    monkeypatch.setenv(zoo.INDEX_ENV, str(index))
    with pytest.raises(HubError, match='lists the members .* but its config'):
        zoo.get_model('swapped')
    assert zoo.get_model_info('half-released').weights_status == 'not released'
    with pytest.raises(HubError, match='unreleased: no weights have been released'):
        zoo.get_model('half-released')
    index.write_text(yaml.safe_dump({'Models': entries}))
    with pytest.raises(ValueError, match='at least two member names'):
        zoo.load_index()


def test_a_merged_checkpoint_runs_the_same_ensemble_from_its_config(tmp_path):
    """``CONFIG.py:CHECKPOINT`` with one file holding ``members.<k>.*`` (what docs/ensemble.md tells a user who
    builds an ensemble outside the index) gives the zoo entry's output, bit for bit."""
    from safetensors.torch import save_file
    zoo_model = zoo.get_model(ENSEMBLE)
    merged = tmp_path / 'merged.safetensors'
    save_file({key: value.contiguous() for key, value in zoo_model.state_dict().items()}, str(merged))
    config = zoo.get_model_info(ENSEMBLE).config
    image = np.random.default_rng(2).integers(0, 256, (200, 300, 3), dtype=np.uint8)
    mask = np.zeros((200, 300), np.uint8)
    mask[50:150, 80:220] = 255
    from_file = Harmonizer.from_pretrained(f'{config}:{merged}').harmonize(image, mask)
    assert np.array_equal(from_file, Harmonizer.from_pretrained(ENSEMBLE).harmonize(image, mask))
    with pytest.raises(ValueError, match='no checkpoint was given'):
        Harmonizer.from_pretrained(config)  # members with learned weights need them


def test_chroma_preserving_mean_against_scikit_image():
    """Independent reference: scikit-image's CIELAB; lightness and a/b averaged, a/b rescaled to the mean chroma."""
    from skimage.color import lab2rgb, rgb2lab

    from toolkit.ops.color import chroma_preserving_mean
    rng = np.random.default_rng(3)
    first, second = (rng.uniform(60, 200, (8, 8, 3)) for _ in range(2))  # mid-range colours: in gamut after mixing
    w = 0.3
    labs = [rgb2lab(image / 255.0) for image in (first, second)]
    mean = w * labs[0] + (1 - w) * labs[1]
    chroma = w * np.hypot(labs[0][..., 1], labs[0][..., 2]) + (1 - w) * np.hypot(labs[1][..., 1], labs[1][..., 2])
    mean[..., 1:] *= (chroma / np.hypot(mean[..., 1], mean[..., 2]))[..., None]
    expected = lab2rgb(mean) * 255.0
    tensors = [torch.from_numpy(image.transpose(2, 0, 1)).float() for image in (first, second)]
    output = chroma_preserving_mean(tensors, (w, 1 - w)).numpy().transpose(1, 2, 0)
    assert np.abs(output - expected).max() < 0.5


def test_chroma_mix_of_full_resolution_bands_is_chunked_without_seams(monkeypatch):
    """mix_levels mixes a band in chunks of rows (speed and memory): every chunk, the partial last one included,
    matches scikit-image's CIELAB mix of the whole band."""
    from skimage.color import lab2rgb, rgb2lab

    from toolkit.models import ensemble
    monkeypatch.setattr(ensemble, 'MIX_CHUNK_PIXELS', 7 * 40)  # 7 rows of 40: 50 rows are 8 chunks, the last of 1
    rng = np.random.default_rng(5)
    first, second = (rng.uniform(60, 200, (50, 40, 3)).astype(np.float32) for _ in range(2))
    labs = [rgb2lab(image.astype(np.float64) / 255.0) for image in (first, second)]
    mean = 0.5 * labs[0] + 0.5 * labs[1]
    chroma = 0.5 * np.hypot(labs[0][..., 1], labs[0][..., 2]) + 0.5 * np.hypot(labs[1][..., 1], labs[1][..., 2])
    mean[..., 1:] *= (chroma / np.hypot(mean[..., 1], mean[..., 2]))[..., None]
    mixed = ensemble.mix_levels([first, second], (0.5, 0.5), 'chroma')
    assert mixed.shape == first.shape and mixed.dtype == np.float32
    assert np.abs(mixed - lab2rgb(mean) * 255.0).max() < 0.5


def test_chroma_mean_ensemble_keeps_colour_that_the_rgb_mean_loses():
    """The published chroma-mean entry at full resolution: within 2 levels of its members' own outputs mixed by
    hand (each member's output is rounded to 8 bits here, not inside the ensemble), and its foreground is more
    colourful than the plain RGB mean of the same outputs on a saturated object before a grey background."""
    from toolkit.models.ensemble import mix_levels
    from toolkit.ops.color import rgb_to_lab
    image = np.full((240, 320, 3), 128, np.uint8)
    image[60:180, 80:240] = (210, 60, 120)  # a saturated pink object on grey
    image[:, :40] = (90, 110, 150)
    mask = np.zeros((240, 320), np.uint8)
    mask[60:180, 80:240] = 255
    members = [Harmonizer.from_pretrained(name).harmonize(image, mask).astype(np.float32) for name in (CURVES, CL)]
    output = Harmonizer.from_pretrained('ensemble_colorcurves-clharmony-s_chroma-mean_matched-256').harmonize(image,
                                                                                                              mask)
    expected = np.round(np.clip(mix_levels(members, (0.5, 0.5), 'chroma'), 0, 255))
    assert np.abs(output - expected).max() <= 2.0
    assert np.array_equal(output[mask == 0], image[mask == 0])

    def chroma(rgb):
        lab = rgb_to_lab(torch.from_numpy(rgb[mask > 0].T.copy()).float().view(3, -1, 1) / 255)
        return float(lab[1:].norm(dim=0).mean())
    assert chroma(output.astype(np.float32)) > chroma((members[0] + members[1]) / 2) + 1.0
    with pytest.raises(ValueError, match='colour_mean must be one of'):
        HarmonizationEnsemble([REINHARD, HISTOGRAM], colour_mean='hsv')
