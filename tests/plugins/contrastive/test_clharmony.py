"""Region-wise contrastive harmonization: eqs. 4–5 by hand, eq. 11 as a loop, parameter count, training, swaps."""
import math
import os

import pytest
import torch
import torch.nn.functional as F

from plugins.contrastive import CLHARMONY_PARAMETERS, S2AM, RegionContrastiveLoss, ResUNet, StyleFusion
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
        def embed(sampling_map, flat, b=b):
            y, x = divmod(int(flat), width)
            padded = F.pad(sampling_map[b:b + 1], (size // 2, size - 1 - size // 2, size // 2, size - 1 - size // 2))
            patch = padded[0, :, y:y + size, x:x + size].reshape(-1)
            return F.normalize(loss.mlp(patch[None])[0], dim=0)
        negatives = [embed(fg_map, i) for i in fg_indices[b]]
        positives = [embed(bg_map, i) for i in bg_indices[b]]
        terms = []
        for i in range(len(negatives)):
            numerator = math.exp(float(negatives[i] @ positives[i]) / tau)
            # negatives: the other foreground patches, never the query itself nor a copy of its location
            denominator = numerator + sum(math.exp(float(negatives[i] @ negatives[k]) / tau)
                                          for k in range(len(negatives))
                                          if int(fg_indices[b][k]) != int(fg_indices[b][i]))
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


def test_query_is_not_its_own_negative():
    """With one patch per region there are no negatives at all: eq. 11 is −log(e^s / e^s) = 0. Keeping the k = i
    self term (the old reading) gave −log(e^s / (e^s + e^{1/τ})) ≥ log 2 whatever the network did."""
    loss = RegionContrastiveLoss(num_patches=1, embed_dim=8).double()
    pred, target = torch.rand(2, 3, 32, 32, dtype=torch.float64), torch.rand(2, 3, 32, 32, dtype=torch.float64)
    mask = torch.zeros(2, 1, 32, 32, dtype=torch.float64)
    mask[..., 8:24, 8:24] = 1
    assert float(loss(pred, target, mask).detach()) == 0.0
    # a region of one sampling cell, sampled with replacement: all K draws are the same location, none is a negative
    tiny = torch.zeros(2, 1, 32, 32, dtype=torch.float64)
    tiny[..., 8:12, 8:12] = 1
    wide = RegionContrastiveLoss(num_patches=6, embed_dim=8).double()
    assert float(wide(pred, target, tiny).detach()) == pytest.approx(0.0, abs=1e-12)


def test_patches_are_gathered_like_unfold():
    loss = RegionContrastiveLoss(num_patches=10)
    sampling_map = torch.randn(2, 3, 9, 11)
    indices = torch.randint(0, 99, (2, 10))
    size = loss.patch_size
    padded = F.pad(sampling_map, (size // 2, size - 1 - size // 2, size // 2, size - 1 - size // 2))
    columns = F.unfold(padded, size)  # (B, C·size², h·w): the old way, every column
    expected = torch.gather(columns, 2, indices[:, None, :].expand(-1, columns.shape[1], -1)).transpose(1, 2)
    assert torch.equal(loss.patches(sampling_map, indices), expected)


def test_projection_head_initialisation_follows_cut():
    torch.manual_seed(0)
    loss = RegionContrastiveLoss()
    first, second = loss.mlp[0], loss.mlp[2]
    assert abs(float(first.weight.detach().std()) - 0.02) < 0.001
    assert abs(float(second.weight.detach().std()) - 0.02) < 0.001
    assert float(first.bias.detach().abs().max()) == 0.0 and float(second.bias.detach().abs().max()) == 0.0


def test_contrastive_loss_edge_cases_and_gradients():
    loss = RegionContrastiveLoss(num_patches=16)
    pred = torch.rand(2, 3, 32, 32, requires_grad=True)
    target = torch.rand(2, 3, 32, 32)
    empty = torch.zeros(2, 1, 32, 32)
    assert float(loss(pred, target, empty).detach()) == 0.0  # no foreground anywhere: contributes 0, no NaN
    tiny = torch.zeros(2, 1, 32, 32)
    tiny[0, :, 8:16, 8:16] = 1  # four sampling-map cells for 16 patches: sampled with replacement
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


# ------------------------------------------------------------------------------ readings that change training
def _batch(model, size=32, seed=0):
    generator = torch.Generator().manual_seed(seed)
    composite = torch.randint(0, 256, (2, 3, size, size), dtype=torch.uint8, generator=generator)
    mask = torch.zeros(2, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1
    samples = [HarmonizationDataSample(gt_img=torch.randint(0, 256, (3, size, size), dtype=torch.uint8,
                                                             generator=generator)) for _ in range(2)]
    return model.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask), data_samples=samples))


@pytest.mark.parametrize('blend, expect_gradient', [('predict', True), (True, False)])
def test_losses_supervise_the_raw_output(blend, expect_gradient):
    """With the background pasted back before the loss (the old default), the last level's background affine of
    style fusion gets exactly zero gradient; trained on the raw output (the paper's H) it learns."""
    torch.manual_seed(0)
    model = EncoderDecoderHarmonizer(
        backbone=dict(type='ResUNet', base_channels=4, depth=3, blocks=1, attention=None),
        fusion=dict(type='StyleFusion'), residual=False, blend_background=blend,
        losses=dict(l1=dict(type='L1Loss', loss_weight=0.4), pixel=dict(type='ForegroundL1Loss', loss_weight=0.5)))
    sum(model(**_batch(model), mode='loss').values()).backward()
    last = model.fusions[-1]
    gradient = float(last.background_scale.grad.abs().sum() + last.background_bias.grad.abs().sum())
    assert (gradient > 0) if expect_gradient else gradient == 0.0
    # outputs are blended either way: the background is the composite's
    batch = _batch(model)
    with torch.no_grad():
        out = model(batch['inputs'], mode='tensor')
    background = (batch['inputs']['mask'] == 0).expand_as(out)
    assert torch.equal(out[background], batch['inputs']['composite'][background])


def test_adain_comparator_takes_the_decoders_own_background_statistics():
    import plugins.baselines  # noqa: F401
    from toolkit.models.fusions import AdaIN
    torch.manual_seed(0)
    decoder = torch.randn(2, 4, 8, 8, dtype=torch.float64) * 3 + 1
    encoder = torch.randn(2, 4, 8, 8, dtype=torch.float64)
    mask = torch.zeros(2, 1, 32, 32, dtype=torch.float64)
    mask[..., :16, :] = 1
    out = AdaIN(4, 4, style='decoder-background')(decoder, encoder, mask)
    background = decoder[..., 4:, :]  # the mask's bottom half, nearest-resized to 8×8
    content = (decoder - decoder.mean((2, 3), keepdim=True)) / torch.sqrt(decoder.var((2, 3), keepdim=True) + 1e-5)
    expected = content * torch.sqrt(background.var((2, 3), unbiased=False, keepdim=True) + 1e-5) \
        + background.mean((2, 3), keepdim=True)
    assert torch.allclose(out, expected, atol=1e-5)
    encoder_style = AdaIN(4, 4, style='encoder')(decoder, encoder, mask)  # the other reading, kept by name
    assert torch.allclose(encoder_style.mean((2, 3)), encoder.mean((2, 3)), atol=1e-6)


def test_rain_inside_resunet_sees_binary_masks_like_rainnet():
    import plugins.baselines  # noqa: F401
    torch.manual_seed(0)
    model = EncoderDecoderHarmonizer(backbone=dict(type='ResUNet', base_channels=4, depth=3, blocks=1),
                                     fusion=dict(type='RAIN'))
    seen = []
    for block in model.fusions:
        block.register_forward_hook(lambda module, args, output: seen.append((args[0], args[2], output, module)))
    mask = torch.zeros(1, 1, 32, 32)
    mask[..., 5:23, 7:29] = 1  # edges off the 2×2/4×4 grid: area resizing would make them soft
    model(dict(composite=torch.randn(1, 3, 32, 32), mask=mask))
    assert len(seen) == 2
    for feature, given, output, block in seen:
        assert torch.equal(given, mask)  # the input-resolution mask, resized by RAIN itself (nearest)
        # official RAIN statistics: Σ(m·(x − μ))² / (Σm + eps) on the nearest-resized binary mask
        m = F.interpolate(given, size=feature.shape[-2:], mode='nearest')
        b = 1 - m

        def official(x, region, eps=block.eps):
            mean = (x * region).sum((2, 3), keepdim=True) / (region.sum((2, 3), keepdim=True) + eps)
            var = (((x - mean) * region) ** 2).sum((2, 3), keepdim=True) / (region.sum((2, 3), keepdim=True) + eps)
            return mean, torch.sqrt(var + eps)
        fg_mean, fg_std = official(feature, m)
        bg_mean, bg_std = official(feature, b)
        expected = ((feature - fg_mean) / fg_std * bg_std + bg_mean) * m + (feature - bg_mean) / bg_std * b
        assert torch.allclose(output, expected, atol=1e-5)


def test_style_fusion_with_an_empty_background_keeps_its_scale():
    """A training crop inside a large foreground: no background at a level. Eq. 4 would divide by sqrt(eps)
    (~316× the foreground); the whole map's statistics stand in instead."""
    torch.manual_seed(0)
    fusion = StyleFusion(8, 8)
    decoder, encoder = torch.randn(2, 8, 16, 16), torch.randn(2, 8, 16, 16)
    half = torch.zeros(1, 1, 64, 64)
    half[..., :32] = 1
    normal = fusion(decoder[:1], encoder[:1], half)
    full = fusion(decoder[1:], encoder[1:], torch.ones(1, 1, 64, 64))
    assert torch.isfinite(full).all()
    assert float(full.detach().abs().max()) < 3 * float(normal.detach().abs().max())
    expected = (decoder[1:] - encoder[1:].mean((2, 3), keepdim=True)) / torch.sqrt(
        encoder[1:].var((2, 3), unbiased=False, keepdim=True) + fusion.eps)
    assert torch.allclose(full.detach(), expected, atol=1e-5)


CLHARMONY_CONFIGS = sorted(name for name in os.listdir(os.path.join(REPO_ROOT, 'configs', 'clharmony'))
                           if name.endswith('.py'))


@pytest.mark.parametrize('name', CLHARMONY_CONFIGS)
def test_every_shipped_config_builds_and_takes_a_training_step(name):
    from toolkit.models import build_model_from_config
    model, cfg = build_model_from_config(os.path.join(REPO_ROOT, 'configs', 'clharmony', name))
    model.train()
    losses = model(**_batch(model, size=64), mode='loss')
    expected = {'loss_l1'} | ({'loss_pixel'} if 'l1_' not in name else set()) \
        | ({'loss_hcl'} if 'l1-pixel' not in name and 'l1_' not in name else set()) \
        | ({'loss_ssim'} if '-ssim-' in name else set())  # the texture stages' foreground SSIM term
    assert set(losses) == expected, name
    before = [p.detach().clone() for p in model.parameters()]
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sum(losses.values()).backward()
    optimizer.step()
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters()))
    if '-k' in name:
        k = int(name.split('-k')[1].split('_')[0])
        assert [loss.num_patches for loss in model.losses if loss.loss_name == 'loss_hcl'] == [k]


def test_fusion_swap_is_one_cfg_option(tmp_path):
    """Swapping style fusion for RAIN needs one --cfg-options value: first-party plugins register through entry
    points, no custom_imports of plugins.baselines."""
    from toolkit.engine.launch import train
    config = os.path.join(REPO_ROOT, 'configs', 'clharmony', 'clharmony-tiny_stylefusion-s2am_adamw-20i_samples-64.py')
    runner = train(config, work_dir=str(tmp_path), cfg_options={'model.fusion.type': 'RAIN', 'train_cfg.max_iters': 2,
                                                                 'train_cfg.val_interval': 2})
    assert type(runner.model.fusions[0]).__name__ == 'RAIN' and runner.iter == 2
