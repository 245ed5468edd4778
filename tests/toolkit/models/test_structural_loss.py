"""The foreground SSIM loss is one minus the benchmark's foreground SSIM (scikit-image's Gaussian SSIM map)."""
import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from toolkit.models.losses import ForegroundSSIMLoss
from toolkit.registry import LOSSES


def _levels(rng, height=40, width=48):
    return rng.uniform(0, 255, size=(height, width, 3))


def test_loss_is_one_minus_scikit_images_mask_weighted_ssim_map_on_normalised_inputs():
    rng = np.random.default_rng(0)
    target = _levels(rng)
    pred = np.clip(0.8 * target + 30 + rng.normal(0, 12, size=target.shape), 0, 255)
    mask = np.zeros(target.shape[:2])
    mask[8:30, 10:40] = 1.0
    mask[12:20, 14:22] = 0.5  # soft values weight the map
    _, full = structural_similarity(target, pred, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                    data_range=255, channel_axis=2, full=True)
    expected = 1 - (full.mean(axis=2) * mask).sum() / mask.sum()

    def normalised(levels):
        return (torch.from_numpy(levels).permute(2, 0, 1)[None].double() - 127.5) / 127.5
    loss = ForegroundSSIMLoss(loss_weight=0.3)
    got = float(loss(normalised(pred), normalised(target), torch.from_numpy(mask)[None, None]))
    assert got == pytest.approx(0.3 * expected, rel=1e-6)
    assert 0.01 < expected < 1  # a real difference, not a degenerate case


def test_per_image_then_batch_mean_gradients_flow_and_an_empty_mask_is_zero():
    rng = np.random.default_rng(1)
    target = torch.from_numpy(np.stack([_levels(rng), _levels(rng)])).permute(0, 3, 1, 2).float() / 127.5 - 1
    blurred = torch.nn.functional.avg_pool2d(target, 3, stride=1, padding=1, count_include_pad=False)
    pred = blurred.clone().requires_grad_(True)
    mask = torch.zeros(2, 1, 40, 48)
    mask[0, :, 5:35, 5:40] = 1
    loss = ForegroundSSIMLoss()
    value = loss(pred, target, mask)
    first_only = loss(blurred[:1], target[:1], mask[:1])
    assert float(value.detach()) == pytest.approx(float(first_only) / 2, rel=1e-5)  # the empty mask adds 0
    value.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad[0].abs().sum() > 0
    assert pred.grad[1].abs().sum() == 0
    # blurring the texture is what it charges: the sharp image scores lower than its blurred copy
    assert float(loss(target, target, mask)) == pytest.approx(0, abs=1e-6)
    assert float(first_only) > 0.1


def test_built_from_the_registry_and_shapes_checked():
    loss = LOSSES.build(dict(type='ForegroundSSIMLoss', loss_weight=0.2))
    assert loss.loss_name == 'loss_fg_ssim' and loss.loss_weight == 0.2
    with pytest.raises(ValueError, match=r'mask \(B, 1, H, W\)'):
        loss(torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16))
