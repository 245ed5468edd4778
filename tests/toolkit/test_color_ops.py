import numpy as np
import torch
from skimage.color import lab2rgb, rgb2lab

from toolkit.ops import lab_to_rgb, rgb_to_lab


def test_lab_conversion_matches_scikit_image():
    rgb = np.random.default_rng(0).random((17, 13, 3))
    lab = rgb_to_lab(torch.from_numpy(rgb.transpose(2, 0, 1))).numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(lab, rgb2lab(rgb), atol=1e-6)
    back = lab_to_rgb(torch.from_numpy(lab.transpose(2, 0, 1))).numpy().transpose(1, 2, 0)
    np.testing.assert_allclose(back, lab2rgb(lab), atol=1e-6)
    np.testing.assert_allclose(back, rgb, atol=1e-6)


def test_lab_conversion_is_batched_and_clips_out_of_gamut():
    batch = torch.rand(2, 3, 4, 4, dtype=torch.float64)
    assert torch.allclose(rgb_to_lab(batch)[1], rgb_to_lab(batch[1]))
    far = torch.tensor([50.0, 120.0, -120.0], dtype=torch.float64).view(3, 1, 1)
    out = lab_to_rgb(far)
    assert out.min() >= 0 and out.max() <= 1
