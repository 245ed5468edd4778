"""Each metric against scikit-image or a hand computation, on the bundled real triplets, to 1e-6."""
import numpy as np
import pytest
import torch
from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

from toolkit.datasets import IHarmony4Dataset
from toolkit.metrics import compute_image_metrics, get_profile
from toolkit.metrics import functional as MF

PIPELINE = [dict(type='LoadHarmonizationImages'), dict(type='Resize', scale=256),
            dict(type='BinarizeMask', threshold=0.5), dict(type='PackHarmonizationInputs')]


@pytest.fixture(scope='module')
def real_triplets(samples_root):
    """(composite, target, soft mask) at 256x256 as float64 HWC / HW numpy arrays."""
    dataset = IHarmony4Dataset(samples_root, split='test', pipeline=PIPELINE)
    triplets = []
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        triplets.append((sample.composite_img.numpy().transpose(1, 2, 0).astype(np.float64),
                         sample.gt_img.numpy().transpose(1, 2, 0).astype(np.float64),
                         sample.soft_mask.numpy()[0].astype(np.float64)))
    return triplets


def chw(array):
    return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1)))


def test_mse_psnr_ssim_match_scikit_image(real_triplets):
    for composite, target, _ in real_triplets:
        assert float(MF.mse(chw(composite), chw(target))) == pytest.approx(
            mean_squared_error(target, composite), abs=1e-6)
        assert float(MF.psnr(chw(composite), chw(target))) == pytest.approx(
            peak_signal_noise_ratio(target, composite, data_range=255), abs=1e-6)
        reference = structural_similarity(target, composite, gaussian_weights=True, sigma=1.5,
                                          use_sample_covariance=False, data_range=255, channel_axis=2)
        assert float(MF.ssim(chw(composite), chw(target))) == pytest.approx(reference, abs=1e-6)


def test_foreground_metrics_by_hand(real_triplets):
    for composite, target, soft in real_triplets:
        binary = (soft > 0.5).astype(np.float64)
        squared = (composite - target) ** 2
        expected_fmse = (squared * binary[..., None]).sum() / (3 * binary.sum())
        got = float(MF.foreground_mse(chw(composite), chw(target), torch.from_numpy(binary)[None]))
        assert got == pytest.approx(expected_fmse, rel=1e-9)
        # the full-image form equals MSE * H * W / N_fg
        full = float(MF.foreground_mse(chw(composite), chw(target), torch.from_numpy(binary)[None], 'full_image'))
        assert full == pytest.approx(squared.mean() * 256 * 256 / binary.sum(), rel=1e-9)
        # fSSIM = mask-weighted mean of scikit-image's full SSIM map averaged over channels
        _, ssim_full = structural_similarity(target, composite, gaussian_weights=True, sigma=1.5,
                                             use_sample_covariance=False, data_range=255, channel_axis=2,
                                             full=True)
        expected_fssim = (ssim_full.mean(axis=2) * binary).sum() / binary.sum()
        got = float(MF.foreground_ssim(chw(composite), chw(target), torch.from_numpy(binary)[None]))
        assert got == pytest.approx(expected_fssim, abs=1e-6)


def test_compute_image_metrics_default_profile(real_triplets):
    composite, target, soft = real_triplets[0]
    values = compute_image_metrics(chw(composite), chw(target), torch.from_numpy(soft)[None])
    binary = soft > 0.5
    squared = (composite - target) ** 2
    fmse = squared[binary].sum() / (3 * binary.sum())
    assert values['MSE'] == pytest.approx(squared.mean(), rel=1e-9)
    assert values['PSNR'] == pytest.approx(10 * np.log10(255 ** 2 / squared.mean()), abs=1e-6)
    assert values['fMSE'] == pytest.approx(fmse, rel=1e-9)
    assert values['fPSNR'] == pytest.approx(10 * np.log10(255 ** 2 / fmse), abs=1e-6)
    assert values['fg_ratio'] == pytest.approx(binary.mean())


def test_profiles_change_exactly_what_they_name(real_triplets):
    composite, target, soft = real_triplets[1]
    args = (chw(composite), chw(target), torch.from_numpy(soft)[None])
    base = compute_image_metrics(*args, profile='toolkit')
    squared = (composite - target) ** 2
    peak = target.max()
    target_peak = compute_image_metrics(*args, profile='target-peak')
    assert target_peak['PSNR'] == pytest.approx(10 * np.log10(peak ** 2 / squared.mean()), abs=1e-6)
    assert target_peak['MSE'] == base['MSE'] and target_peak['SSIM'] == base['SSIM']
    dynamic = compute_image_metrics(*args, profile='dynamic-range')
    value_range = target.max() - target.min()
    assert dynamic['PSNR'] == pytest.approx(10 * np.log10(value_range ** 2 / squared.mean()), abs=1e-6)
    soft_profile = compute_image_metrics(*args, profile='soft-mask')
    expected = (squared * soft[..., None]).sum() / (3 * soft.sum())
    assert soft_profile['fMSE'] == pytest.approx(expected, rel=1e-9)
    unit = compute_image_metrics(*args, profile='ssim-unit-constants')
    reference = structural_similarity(target, composite, gaussian_weights=True, sigma=1.5,
                                      use_sample_covariance=False, data_range=1.0, channel_axis=2)
    assert unit['SSIM'] == pytest.approx(reference, abs=1e-6)


def test_hand_computed_two_region_case():
    target = torch.full((3, 4, 4), 100.0)
    pred = target.clone()
    pred[:, :2, :] += 6.0  # top half off by 6 in every channel
    mask = torch.zeros(1, 4, 4)
    mask[:, :2, :2] = 1  # 4 foreground pixels, all in the changed half
    assert float(MF.mse(pred, target)) == 18.0  # half of the pixels have error 36
    assert float(MF.foreground_mse(pred, target, mask)) == 36.0
    assert float(MF.foreground_mse(pred, target, mask, 'full_image')) == 18.0 * 16 / 4
    assert float(MF.psnr(pred, target)) == pytest.approx(10 * np.log10(255 ** 2 / 18.0))


def test_edge_cases():
    image = torch.rand(3, 16, 16) * 255
    # identical images: finite PSNR at the documented cap
    assert float(MF.psnr(image, image)) == pytest.approx(10 * np.log10(255 ** 2 / MF.MIN_MSE))
    # empty mask: foreground metrics are undefined (NaN), never a silent zero
    assert np.isnan(float(MF.foreground_mse(image, image + 1, torch.zeros(1, 16, 16))))
    assert np.isnan(float(MF.foreground_ssim(image, image + 1, torch.zeros(1, 16, 16))))
    with pytest.raises(ValueError, match='same shape'):
        MF.mse(image, image[:, :8])
    with pytest.raises(ValueError, match='mask must be'):
        MF.foreground_mse(image, image, torch.ones(3, 16, 16))


def test_quantization_and_resizing_follow_the_profile():
    target = torch.full((3, 512, 512), 50, dtype=torch.uint8)
    pred = target.float() + 0.4  # rounds back to the target
    mask = torch.ones(1, 512, 512)
    assert compute_image_metrics(pred, target, mask)['MSE'] == 0.0
    unrounded = compute_image_metrics(pred, target, mask, profile=dict(quantize=False))
    assert unrounded['MSE'] == pytest.approx(0.16, rel=1e-5)
    assert get_profile(dict(quantize=False)).name == 'custom'
    with pytest.raises(KeyError, match='unknown metric profile'):
        get_profile('nope')
