"""Region-wise contrastive harmonization: eqs. 4–5 by hand, eq. 11 as a loop, parameter count, training, swaps."""
import math
import os

import pytest
import torch
import torch.nn.functional as F

from plugins.contrastive import S2AM, RegionContrastiveLoss, ResUNet, StyleFusion
from plugins.contrastive.clharmony import CLHARMONY_PARAMETERS
from toolkit.models import EncoderDecoderHarmonizer
from toolkit.structures import HarmonizationDataSample

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))


def count(module):
    return sum(p.numel() for p in module.parameters())


def masked_stats_by_hand(x, region, eps):
    """Per sample and channel, with explicit loops: Σx·r/(Σr+eps) and sqrt(Σ(x−μ)²·r/(Σr+eps) + eps)."""
    batch, channels = x.shape[:2]
    mean, std = torch.zeros(batch, channels, 1, 1, dtype=x.dtype), torch.zeros(batch, channels, 1, 1, dtype=x.dtype)
    for b in range(batch):
        area = float(region[b, 0].sum())
        for c in range(channels):
            m = float((x[b, c] * region[b, 0]).sum()) / (area + eps)
            v = float((((x[b, c] - m) ** 2) * region[b, 0]).sum()) / (area + eps)
            mean[b, c], std[b, c] = m, math.sqrt(v + eps)
    return mean, std


def test_style_fusion_equations_4_and_5_by_hand():
    torch.manual_seed(0)
    fusion = StyleFusion(decoder_channels=3, encoder_channels=3).double()
    with torch.no_grad():
        for p in fusion.parameters():
            p.normal_(0, 0.5)
    decoder = torch.randn(2, 3, 4, 4, dtype=torch.float64) * 2 + 1
    encoder = torch.randn(2, 3, 4, 4, dtype=torch.float64) * 3 - 2
    mask = torch.zeros(2, 1, 4, 4, dtype=torch.float64)
    mask[0, :, :2] = 1
    mask[1, :, :, 1:3] = 1
    eps = fusion.eps
    mu_e, sigma_e = masked_stats_by_hand(encoder, 1 - mask, eps)
    mu_d, sigma_d = masked_stats_by_hand(decoder, 1 - mask, eps)
    fg = (decoder * mask - mu_e) / sigma_e  # eq. 4
    bg = (decoder * (1 - mask) - mu_d) / sigma_d  # eq. 5
    view = lambda p: p.view(1, -1, 1, 1)  # noqa: E731
    expected = (((1 + view(fusion.foreground_scale)) * fg + view(fusion.foreground_bias)) * mask
                + ((1 + view(fusion.background_scale)) * bg + view(fusion.background_bias)) * (1 - mask))
    assert torch.allclose(fusion(decoder, encoder, mask), expected, atol=1e-10)


def test_style_fusion_shape_gradients_and_empty_regions():
    fusion = StyleFusion(decoder_channels=8, encoder_channels=8)
    decoder = torch.randn(2, 8, 16, 16, requires_grad=True)
    encoder = torch.randn(2, 8, 16, 16)
    mask = torch.zeros(2, 1, 64, 64)
    mask[1] = 1  # sample 0: no foreground; sample 1: no background
    out = fusion(decoder, encoder, mask)
    assert out.shape == decoder.shape and torch.isfinite(out).all()
    out.square().mean().backward()
    for name in ('foreground_scale', 'foreground_bias', 'background_scale', 'background_bias'):
        grad = getattr(fusion, name).grad
        assert grad is not None and torch.isfinite(grad).all()
    assert fusion.background_scale.grad.abs().sum() > 0 and fusion.foreground_scale.grad.abs().sum() > 0
    assert all((getattr(StyleFusion(4, 4), n) == 0).all() for n in ('foreground_scale', 'background_bias'))


def test_s2am_combines_regions_as_documented():
    torch.manual_seed(0)
    block = S2AM(16).eval()
    assert count(block) == 3 * (3 * 16 ** 2 // 16 + 17 * 16 // 16) + 36 * 16 ** 2 + 6 * 16
    assert count(S2AM(64)) == 150_348
    f = torch.randn(1, 16, 8, 8)
    full = torch.ones(1, 1, 8, 8)
    with torch.no_grad():
        assert torch.allclose(block(f, full), block.learning_block(block.foreground_gate(f)) + block.mixed_gate(f),
                              atol=1e-6)
        assert torch.allclose(block(f, torch.zeros(1, 1, 8, 8)), block.background_gate(f), atol=1e-6)
        half = torch.zeros(1, 1, 32, 32)
        half[..., :16] = 1
        assert block(f, half).shape == f.shape


def loop_contrastive(loss, pred, target, mask, fg_indices, bg_indices):
    """Eq. 11 transcribed with loops: patches cut one by one, sums written out, per image then averaged."""
    factor, size, tau = loss.downsample, loss.patch_size, loss.temperature
    fg_map = F.avg_pool2d(pred * mask, factor)
    bg_map = F.avg_pool2d(target * (1 - mask), factor)
    width = fg_map.shape[-1]
    total = 0.0
    for b in range(pred.shape[0]):
        def embed(sampling_map, flat):
            y, x = divmod(int(flat), width)
            padded = F.pad(sampling_map[b:b + 1], (size // 2, size - 1 - size // 2, size // 2, size - 1 - size // 2))
            patch = padded[0, :, y:y + size, x:x + size].reshape(-1)
            return F.normalize(loss.mlp(patch[None])[0], dim=0)
        negatives = [embed(fg_map, i) for i in fg_indices[b]]
        positives = [embed(bg_map, i) for i in bg_indices[b]]
        terms = []
        for i in range(len(negatives)):
            numerator = math.exp(float(negatives[i] @ positives[i]) / tau)
            denominator = numerator + sum(math.exp(float(negatives[i] @ n) / tau) for n in negatives)
            terms.append(-math.log(numerator / denominator))
        total += sum(terms) / len(terms)
    return total / pred.shape[0]


def test_contrastive_loss_matches_equation_11_as_a_loop():
    torch.manual_seed(0)
    loss = RegionContrastiveLoss(num_patches=12, embed_dim=16).double()
    pred = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    target = torch.rand(2, 3, 32, 32, dtype=torch.float64)
    mask = torch.zeros(2, 1, 32, 32, dtype=torch.float64)
    mask[0, :, 4:20, 4:28] = 1
    mask[1, :, 16:, :] = 1
    value = loss(pred, target, mask, generator=torch.Generator().manual_seed(5))
    # the same locations, drawn again with the same seed
    generator = torch.Generator().manual_seed(5)
    _, fg_valid = loss.sampling_maps(pred, mask)
    _, bg_valid = loss.sampling_maps(target, 1 - mask)
    fg_indices = loss.sample_locations(fg_valid, generator)
    bg_indices = loss.sample_locations(bg_valid, generator)
    assert fg_valid.flatten(1).gather(1, fg_indices).all() and bg_valid.flatten(1).gather(1, bg_indices).all()
    with torch.no_grad():
        expected = loop_contrastive(loss, pred, target, mask, fg_indices, bg_indices)
    assert float(value.detach()) == pytest.approx(expected, rel=1e-9)


def test_contrastive_loss_edge_cases_and_gradients():
    loss = RegionContrastiveLoss(num_patches=16)
    pred = torch.rand(2, 3, 32, 32, requires_grad=True)
    target = torch.rand(2, 3, 32, 32)
    empty = torch.zeros(2, 1, 32, 32)
    assert float(loss(pred, target, empty).detach()) == 0.0  # no foreground anywhere: contributes 0, no NaN
    tiny = torch.zeros(2, 1, 32, 32)
    tiny[0, :, 8:12, 8:12] = 1  # one sampling-map cell: sampled with replacement
    value = loss(pred, target, tiny)
    assert torch.isfinite(value) and float(value.detach()) > 0
    value.backward()
    assert torch.isfinite(pred.grad).all() and pred.grad.abs().sum() > 0
    assert all(p.grad is not None for p in loss.mlp.parameters())
    # sample 1 (empty foreground) adds nothing: the batch loss is sample 0's term over a batch of 2
    both = loss(pred.detach(), target, tiny, generator=torch.Generator().manual_seed(1))
    generator = torch.Generator().manual_seed(1)
    fg_indices = loss.sample_locations(loss.sampling_maps(pred.detach(), tiny)[1], generator)
    bg_indices = loss.sample_locations(loss.sampling_maps(target, 1 - tiny)[1], generator)
    with torch.no_grad():
        first = loop_contrastive(loss, pred[:1].detach(), target[:1], tiny[:1], fg_indices[:1], bg_indices[:1])
    assert float(both.detach()) == pytest.approx(first / 2, rel=1e-5)
    with pytest.raises(ValueError, match='divisible by 4'):
        loss(torch.rand(1, 3, 30, 30), torch.rand(1, 3, 30, 30), torch.ones(1, 1, 30, 30))


def test_full_size_parameter_count():
    model = EncoderDecoderHarmonizer(backbone=dict(type='ResUNet'), fusion=dict(type='StyleFusion'))
    assert count(model) == CLHARMONY_PARAMETERS == 28_368_503
    assert count(ResUNet()) == 28_366_583  # S²AM at all four decoder levels
    assert count(ResUNet(attention_levels=(1, 2, 3))) == 18_777_239  # the reference VMSingle with attention
    assert count(RegionContrastiveLoss()) == 115_200  # training-only projection head


def test_tiny_config_trains(tmp_path):
    from toolkit.engine.launch import train
    config = os.path.join(REPO_ROOT, 'configs', 'clharmony', 'clharmony-tiny_stylefusion-s2am_adamw-20i_samples-64.py')
    runner = train(config, work_dir=str(tmp_path))
    losses = torch.tensor(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(losses) == 20 and losses[-5:].mean() < 0.7 * losses[:5].mean(), losses
    assert runner.message_hub.get_scalar('train/loss_hcl').current() > 0


@pytest.mark.parametrize('fusion', ['StyleFusion', 'AdaIN', 'RAIN', 'IdentityFusion'])
def test_fusion_swap_builds_and_steps(fusion):
    import plugins.baselines  # noqa: F401  (AdaIN, RAIN)
    torch.manual_seed(0)
    model = EncoderDecoderHarmonizer(
        backbone=dict(type='ResUNet', base_channels=4, depth=3, blocks=1, attention_levels=(0, 1)),
        fusion=dict(type=fusion), residual=False,
        losses=[dict(type='L1Loss', loss_weight=0.4), dict(type='ForegroundL1Loss', loss_weight=0.5),
                dict(type='RegionContrastiveLoss', loss_weight=0.1, num_patches=8)])
    composite = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    samples = [HarmonizationDataSample(gt_img=torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)) for _ in range(2)]
    batch = model.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask), data_samples=samples))
    losses = model(**batch, mode='loss')
    total = sum(losses.values())
    total.backward()
    torch.optim.AdamW(model.parameters(), lr=1e-3).step()
    assert set(losses) == {'loss_l1', 'loss_fg_l1', 'loss_hcl'} and torch.isfinite(total)
