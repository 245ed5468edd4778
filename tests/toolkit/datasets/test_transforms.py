import random

import numpy as np
import pytest
import torch

from toolkit.datasets.io import HarmonizationDataError
from toolkit.datasets.transforms import BinarizeMask, PackHarmonizationInputs, RandomFlip, RandomResizedCrop, Resize


def _results(height=40, width=60):
    rng = np.random.default_rng(0)
    composite = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = np.zeros((height, width), np.float32)
    mask[5:15, 40:55] = 1.0
    return dict(composite=composite, gt=composite.copy(), mask=mask, mask_path='m.png')


def test_resize_straight_to_square():
    out = Resize(scale=32).transform(_results())
    assert out['composite'].shape == (32, 32, 3) and out['gt'].shape == (32, 32, 3)
    assert out['mask'].shape == (32, 32) and out['img_shape'] == (32, 32)
    assert 0.0 <= out['mask'].min() and out['mask'].max() <= 1.0


def test_random_flip_moves_every_key_together():
    out = RandomFlip(prob=1.0).transform(_results())
    original = _results()
    assert out['flip'] is True
    np.testing.assert_array_equal(out['composite'], original['composite'][:, ::-1])
    np.testing.assert_array_equal(out['mask'], original['mask'][:, ::-1])
    assert RandomFlip(prob=0.0).transform(_results())['flip'] is False


def test_random_resized_crop_keeps_the_foreground():
    random.seed(0)
    transform = RandomResizedCrop(size=24, scale=(0.2, 0.4), min_foreground=1.0, max_tries=50)
    for _ in range(20):
        results = _results()
        out = transform.transform(results)
        assert out['composite'].shape == (24, 24, 3) and out['mask'].shape == (24, 24)
        top, left, height, width = out['crop_box']
        source = _results()['mask'][top:top + height, left:left + width]
        assert source.sum() == _results()['mask'].sum()  # the whole object is inside the crop


def test_binarize_mask_keeps_soft_copy_and_refuses_vanished_foreground():
    results = _results()
    results['mask'][5, 40] = 0.4
    out = BinarizeMask(threshold=0.5).transform(results)
    assert set(np.unique(out['mask']).tolist()) == {0.0, 1.0}
    assert out['soft_mask'][5, 40] == pytest.approx(0.4) and out['mask'][5, 40] == 0.0
    faint = _results()
    faint['mask'] *= 0.3
    with pytest.raises(HarmonizationDataError, match='m.png: no foreground left'):
        BinarizeMask(threshold=0.5).transform(faint)


def test_pack_shapes_and_dtypes():
    results = _results()
    results.update(name='S/composite_images/a_1_1.jpg', subset='S', refs=[results['gt'], results['gt']])
    packed = PackHarmonizationInputs().transform(results)
    inputs, sample = packed['inputs'], packed['data_samples']
    assert inputs['composite'].dtype == torch.uint8 and inputs['composite'].shape == (3, 40, 60)
    assert inputs['mask'].dtype == torch.float32 and inputs['mask'].shape == (1, 40, 60)
    assert inputs['references'].shape == (2, 3, 40, 60)
    assert torch.equal(sample.gt_img, inputs['composite'])
    assert sample.subset == 'S' and sample.fg_ratio == pytest.approx(150 / 2400)


def test_foreground_desaturation_greys_the_foreground_of_the_composite_only():
    """Saturation × 0 turns each foreground pixel into the grey of its HSV value (its largest channel); the
    background, the real image and the mask are untouched; prob 0 changes nothing; bad settings refuse."""
    from toolkit.datasets.transforms import ForegroundDesaturation
    generator = np.random.default_rng(0)
    composite = generator.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    real = generator.integers(0, 256, (6, 7, 3), dtype=np.uint8)
    mask = np.zeros((6, 7), np.float32)
    mask[1:4, 2:6] = 1.0
    results = dict(composite=composite.copy(), gt=real.copy(), mask=mask.copy())
    out = ForegroundDesaturation(prob=1.0, factor=(0.0, 0.0))(results)
    foreground = mask > 0.5
    expected_grey = composite.max(-1)  # HSV value
    np.testing.assert_array_equal(out['composite'][foreground], np.repeat(expected_grey[foreground][:, None], 3, 1))
    np.testing.assert_array_equal(out['composite'][~foreground], composite[~foreground])
    np.testing.assert_array_equal(out['gt'], real)
    np.testing.assert_array_equal(out['mask'], mask)
    assert out['desaturation'] == 0.0
    untouched = ForegroundDesaturation(prob=0.0)(dict(composite=composite.copy(), gt=real, mask=mask))
    np.testing.assert_array_equal(untouched['composite'], composite)
    with pytest.raises(ValueError, match='factor'):
        ForegroundDesaturation(factor=(0.5, 1.5))
    with pytest.raises(ValueError, match='prob'):
        ForegroundDesaturation(prob=2.0)
