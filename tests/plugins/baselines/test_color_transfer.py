"""Non-learned baselines: Reinhard by hand, histogram matching against scikit-image, and through tools/test.py."""
import os

import numpy as np
import pytest
import torch
from skimage.color import rgb2lab
from skimage.exposure import match_histograms

from plugins.baselines import CopyPasteHarmonizer, HistogramMatchingHarmonizer, ReinhardHarmonizer
from toolkit.datasets import IHarmony4Dataset
from toolkit.engine.launch import test as run_test

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def _run(model, image_hwc, mask_hw):
    composite = torch.from_numpy(np.ascontiguousarray(image_hwc.transpose(2, 0, 1)))[None]
    mask = torch.from_numpy(mask_hw.astype(np.float32))[None, None]
    batch = model.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask), data_samples=None))
    return model(**batch, mode='predict')[0].pred_img.numpy().transpose(1, 2, 0)


def test_reinhard_two_region_case_by_hand():
    # foreground: colours A and B in equal numbers; background: C and D in equal numbers.
    # With two equally frequent values per channel, (v - mean) / std = ±1, so Reinhard maps
    # A exactly onto C and B onto D in Lab whenever A < B and C < D in every Lab channel.
    colour_a, colour_b = np.array([60, 40, 20]), np.array([180, 100, 40])
    colour_c, colour_d = np.array([40, 60, 30]), np.array([200, 170, 120])
    lab = {name: rgb2lab(colour[None, None] / 255.0)[0, 0] for name, colour in
           dict(a=colour_a, b=colour_b, c=colour_c, d=colour_d).items()}
    assert (lab['a'] < lab['b']).all() and (lab['c'] < lab['d']).all()  # the case's precondition
    image = np.zeros((8, 8, 3), np.uint8)
    mask = np.zeros((8, 8), bool)
    mask[:4] = True
    image[:2], image[2:4] = colour_a, colour_b  # foreground rows
    image[4:6], image[6:] = colour_c, colour_d  # background rows
    output = _run(ReinhardHarmonizer(), image, mask)
    np.testing.assert_allclose(output[:2].reshape(-1, 3), np.tile(colour_c, (16, 1)), atol=1e-3)
    np.testing.assert_allclose(output[2:4].reshape(-1, 3), np.tile(colour_d, (16, 1)), atol=1e-3)
    np.testing.assert_allclose(output[4:], image[4:], atol=1e-3)  # background untouched


def test_histogram_matching_against_scikit_image(samples_root):
    pipeline = [dict(type='LoadHarmonizationImages'), dict(type='Resize', scale=256),
                dict(type='BinarizeMask', threshold=0.5), dict(type='PackHarmonizationInputs')]
    sample = IHarmony4Dataset(samples_root, split='test', pipeline=pipeline)[3]['data_samples']
    image = sample.composite_img.numpy().transpose(1, 2, 0)
    mask = sample.mask.numpy()[0] > 0.5
    output = _run(HistogramMatchingHarmonizer(), image, mask)
    for channel in range(3):
        expected = match_histograms(image[..., channel][mask].astype(np.float64),
                                    image[..., channel][~mask].astype(np.float64))
        np.testing.assert_allclose(output[..., channel][mask], expected, atol=1e-4)
    np.testing.assert_allclose(output[~mask], image[~mask], atol=1e-3)


def test_copy_paste_is_the_composite():
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)
    mask = np.zeros((16, 16), bool)
    mask[4:12, 4:12] = True
    np.testing.assert_allclose(_run(CopyPasteHarmonizer(), image, mask), image, atol=1e-3)


def test_non_learned_models_cannot_be_trained():
    with pytest.raises(RuntimeError, match='no losses configured'):
        ReinhardHarmonizer().loss(dict(composite=torch.zeros(1, 3, 4, 4), mask=torch.ones(1, 1, 4, 4)), [])


@pytest.mark.parametrize('name', ['copy-paste', 'reinhard-lab', 'histogram-matching'])
def test_baselines_run_through_the_test_tool(name, samples_root, tmp_path):
    config = os.path.join(REPO_ROOT, 'configs', 'baselines', f'{name}_iharmony4-256.py')
    metrics = run_test(config, None, work_dir=str(tmp_path), out=str(tmp_path / 'r.json'),
                       cfg_options={'test_dataloader.dataset.data_root': samples_root,
                                    'test_dataloader.num_workers': 0,
                                    'test_dataloader.persistent_workers': False})
    if name == 'copy-paste':
        for key in ('MSE', 'fMSE', 'PSNR', 'SSIM', 'fSSIM'):
            assert metrics[key] == pytest.approx(metrics[f'input/{key}'], abs=1e-9)
        assert metrics['worse_than_input/fMSE'] == 0.0  # an unchanged composite is never worse than itself
    else:
        assert metrics['MSE'] < metrics['input/MSE']  # both transfers improve these composites
