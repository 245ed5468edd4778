"""RAIN and AdaIN against the formulas written out here, plus the config swap."""
import pytest
import torch
import torch.nn.functional as F

from toolkit.models import EncoderDecoderHarmonizer
from toolkit.models.fusions import RAIN, AdaIN
from toolkit.structures import HarmonizationDataSample


def rain_by_hand(x, mask, fg_gamma, fg_beta, bg_gamma, bg_beta, eps=1e-5):
    """RainNet's RAIN, transcribed from its description with explicit loops over samples and channels."""
    m = F.interpolate(mask, size=x.shape[-2:], mode='nearest')
    out = torch.empty_like(x)
    for b in range(x.shape[0]):
        fg, bg = m[b, 0], 1 - m[b, 0]
        for c in range(x.shape[1]):
            v = x[b, c]
            mu_f = (v * fg).sum() / (fg.sum() + eps)
            mu_b = (v * bg).sum() / (bg.sum() + eps)
            sd_f = torch.sqrt(((v - mu_f) ** 2 * fg).sum() / (fg.sum() + eps) + eps)
            sd_b = torch.sqrt(((v - mu_b) ** 2 * bg).sum() / (bg.sum() + eps) + eps)
            out_b = ((v - mu_b) / sd_b * (1 + bg_gamma[c]) + bg_beta[c]) * bg
            out_f = (((v - mu_f) / sd_f * sd_b + mu_b) * (1 + fg_gamma[c]) + fg_beta[c]) * fg
            out[b, c] = out_f + out_b
    return out


def test_rain_matches_the_formula():
    torch.manual_seed(0)
    rain = RAIN(decoder_channels=3).double()
    with torch.no_grad():
        for name in ('foreground_gamma', 'foreground_beta', 'background_gamma', 'background_beta'):
            getattr(rain, name).normal_()
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64) * 3 + 1
    mask = torch.zeros(2, 1, 32, 32, dtype=torch.float64)
    mask[0, :, 4:20, 8:28] = 1
    mask[1, :, :, :16] = 1
    expected = rain_by_hand(x, mask, rain.foreground_gamma, rain.foreground_beta, rain.background_gamma,
                            rain.background_beta)
    assert torch.allclose(rain(x, None, mask), expected, atol=1e-10)


def test_rain_at_init_gives_foreground_the_background_statistics():
    rain = RAIN(decoder_channels=2)
    x = torch.randn(1, 2, 16, 16)
    x[..., :8, :] = x[..., :8, :] * 5 + 7  # foreground styled very differently
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., :8, :] = 1
    out = rain(x, None, mask)
    # zero-initialised affine: the background is instance-normalised (mean 0, std 1), the foreground
    # takes the background's original mean and std
    bg_in, fg_out, bg_out = x[..., 8:, :], out[..., :8, :], out[..., 8:, :]
    assert torch.allclose(bg_out.mean((2, 3)), torch.zeros(1, 2), atol=1e-5)
    assert torch.allclose(fg_out.mean((2, 3)), bg_in.mean((2, 3)), atol=1e-4)
    assert torch.allclose(fg_out.std((2, 3), unbiased=False), bg_in.std((2, 3), unbiased=False), atol=1e-3)


def test_rain_empty_regions_and_gradients():
    rain = RAIN(decoder_channels=4)
    x = torch.randn(2, 4, 4, 4, requires_grad=True)
    mask = torch.zeros(2, 1, 16, 16)
    mask[1] = 1  # sample 0 has no foreground, sample 1 no background
    out = rain(x, None, mask)
    assert torch.isfinite(out).all()
    out.square().sum().backward()
    assert torch.isfinite(x.grad).all()
    for name in ('foreground_gamma', 'foreground_beta', 'background_gamma', 'background_beta'):
        assert getattr(rain, name).grad is not None
    with pytest.raises(ValueError, match=r'RAIN\(4\) expects \(B, 4, h, w\)'):
        rain(torch.randn(1, 3, 4, 4), None, mask[:1])


def test_adain_matches_the_formula_and_projects_channels():
    torch.manual_seed(1)
    content = torch.randn(2, 3, 6, 6, dtype=torch.float64)
    style = torch.randn(2, 3, 6, 6, dtype=torch.float64) * 2 + 5
    adain = AdaIN(decoder_channels=3, encoder_channels=3)
    c_flat, s_flat = content.flatten(2), style.flatten(2)
    expected = ((content - c_flat.mean(2)[..., None, None]) / torch.sqrt(c_flat.var(2) + 1e-5)[..., None, None]
                * torch.sqrt(s_flat.var(2) + 1e-5)[..., None, None] + s_flat.mean(2)[..., None, None])
    assert torch.allclose(adain(content, style, torch.ones(2, 1, 6, 6)), expected, atol=1e-10)
    projecting = AdaIN(decoder_channels=3, encoder_channels=5)
    assert projecting(torch.randn(1, 3, 4, 4), torch.randn(1, 5, 4, 4), torch.ones(1, 1, 4, 4)).shape == (1, 3, 4, 4)


@pytest.mark.parametrize('fusion', ['IdentityFusion', 'RAIN', 'AdaIN'])
def test_fusion_swap_is_one_config_line_and_trains_one_step(fusion):
    torch.manual_seed(0)
    model = EncoderDecoderHarmonizer(backbone=dict(type='UNet', base_channels=4, num_levels=2),
                                     fusion=dict(type=fusion), losses=dict(type='L1Loss'))
    assert all(type(block).__name__ == fusion for block in model.fusions)
    composite = torch.randint(0, 256, (2, 3, 16, 16), dtype=torch.uint8)
    mask = torch.zeros(2, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    samples = [HarmonizationDataSample(gt_img=torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8))
               for _ in range(2)]
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    batch = model.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask), data_samples=samples))
    loss = model(**batch, mode='loss')['loss_l1']
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss)
