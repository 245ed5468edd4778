import numpy as np
import pytest
import torch

from toolkit.models import EncoderDecoderHarmonizer, HarmonizationDataPreprocessor
from toolkit.models.backbones import UNet
from toolkit.models.losses import ForegroundL1Loss, ForegroundMSELoss, L1Loss
from toolkit.ops import masked_mean_std, resize_mask_to
from toolkit.registry import BACKBONES, FUSIONS, LOSSES
from toolkit.structures import HarmonizationDataSample


def test_masked_mean_std_against_hand_computation():
    features = torch.arange(2 * 3 * 4 * 4, dtype=torch.float64).reshape(2, 3, 4, 4)
    mask = torch.zeros(2, 1, 4, 4, dtype=torch.float64)
    mask[0, :, :2, :2] = 1
    mask[1, :, 3, :] = 1
    mean, std = masked_mean_std(features, mask, eps=0.0)
    for batch in range(2):
        for channel in range(3):
            values = features[batch, channel][mask[batch, 0] > 0]
            assert mean[batch, channel, 0, 0] == pytest.approx(float(values.mean()))
            assert std[batch, channel, 0, 0] == pytest.approx(float(values.std(unbiased=False)))


def test_masked_mean_std_empty_region_is_finite_and_differentiable():
    features = torch.randn(1, 2, 8, 8, requires_grad=True)
    mean, std = masked_mean_std(features, torch.zeros(1, 1, 8, 8))
    assert torch.isfinite(mean).all() and torch.isfinite(std).all()
    (features - mean).div(std).sum().backward()
    assert torch.isfinite(features.grad).all()


def test_resize_mask_keeps_thin_structures_as_fractions():
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 0, :] = 1  # one-pixel line
    small = resize_mask_to(mask, (2, 2))
    assert small[0, 0, 0].tolist() == [0.25, 0.25] and small[0, 0, 1].tolist() == [0.0, 0.0]


def test_preprocessor_normalises_images_never_the_mask():
    pre = HarmonizationDataPreprocessor()
    composite = torch.tensor([0, 127, 255], dtype=torch.uint8).view(3, 1, 1).expand(3, 2, 2).contiguous()
    mask = torch.tensor([[[0.0, 0.3], [1.0, 1.0]]])
    out = pre(dict(inputs=dict(composite=[composite, composite], mask=[mask, mask]), data_samples=None))
    assert out['inputs']['composite'][0, :, 0, 0].tolist() == pytest.approx([-1.0, -1 / 255, 1.0])
    assert torch.equal(out['inputs']['mask'][0], mask)
    assert torch.allclose(pre.denormalize(out['inputs']['composite'][0]), composite.float())
    with pytest.raises(ValueError, match='cannot batch'):
        pre(dict(inputs=dict(composite=[composite, composite[:, :1]], mask=[mask, mask])))


def test_unet_shapes_and_size_check():
    net = UNet(base_channels=4, num_levels=3)
    features = net.encode(torch.zeros(2, 4, 32, 32))
    assert [tuple(f.shape[1:]) for f in features] == [(4, 32, 32), (8, 16, 16), (16, 8, 8), (32, 4, 4)]
    assert net(torch.zeros(2, 4, 32, 32), torch.ones(2, 1, 32, 32)).shape == (2, 3, 32, 32)
    with pytest.raises(ValueError, match='divisible by 8'):
        net.encode(torch.zeros(1, 4, 20, 20))


def test_fusion_receives_level_sized_features_and_the_input_mask():
    """Features at the level's size; the mask at the input's resolution (each block resizes it its own way)."""
    seen = []

    @FUSIONS.register_module(force=True)
    class RecordingFusion(FUSIONS.get('IdentityFusion')):
        def forward(self, decoder_feat, encoder_feat, mask):
            seen.append((self.decoder_channels, tuple(decoder_feat.shape), tuple(encoder_feat.shape),
                         tuple(mask.shape)))
            return decoder_feat

    model = EncoderDecoderHarmonizer(backbone=dict(type='UNet', base_channels=4, num_levels=2),
                                     fusion=dict(type='RecordingFusion'))
    model(dict(composite=torch.zeros(1, 3, 16, 16), mask=torch.ones(1, 1, 16, 16)))
    assert seen == [(8, (1, 8, 8, 8), (1, 8, 8, 8), (1, 1, 16, 16)), (4, (1, 4, 16, 16), (1, 4, 16, 16),
                                                                        (1, 1, 16, 16))]
    with pytest.raises(ValueError, match='3 fusion configs given for 2 decoder levels'):
        EncoderDecoderHarmonizer(backbone=dict(type='UNet', base_channels=4, num_levels=2), fusion=[None] * 3)


def _batch(model, size=16):
    generator = torch.Generator().manual_seed(0)
    composite = torch.randint(0, 256, (2, 3, size, size), generator=generator, dtype=torch.uint8)
    gt = torch.randint(0, 256, (2, 3, size, size), generator=generator, dtype=torch.uint8)
    mask = torch.zeros(2, 1, size, size)
    mask[:, :, 4:12, 4:12] = 1
    samples = [HarmonizationDataSample(gt_img=gt[i], composite_img=composite[i]) for i in range(2)]
    return model.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask), data_samples=samples))


def test_harmonizer_modes_background_and_gradients():
    model = EncoderDecoderHarmonizer(backbone=dict(type='UNet', base_channels=4, num_levels=2),
                                     losses=[dict(type='L1Loss'), dict(type='ForegroundL1Loss', loss_weight=0.5)])
    batch = _batch(model)
    losses = model(**batch, mode='loss')
    assert set(losses) == {'loss_l1', 'loss_fg_l1'} and all(v.ndim == 0 for v in losses.values())
    sum(losses.values()).backward()
    assert all(p.grad is not None for p in model.backbone.parameters() if p.requires_grad)
    model.eval()
    samples = model(**batch, mode='predict')
    pred = samples[0].pred_img
    assert pred.shape == (3, 16, 16)
    background = batch['inputs']['mask'][0, 0] == 0
    composite = batch['data_samples'][0].composite_img.float()
    # blend_background: background pixels are exactly the composite's (up to float rounding)
    assert torch.allclose(pred[:, background], composite[:, background], atol=1e-3)
    with pytest.raises(ValueError, match="mode must be"):
        model(**batch, mode='nope')


def test_losses_by_hand():
    pred = torch.zeros(1, 3, 2, 2)
    target = torch.zeros(1, 3, 2, 2)
    target[..., 0, 0] = 2.0
    mask = torch.zeros(1, 1, 2, 2)
    mask[..., 0, :] = 1  # two foreground pixels, one wrong by 2
    assert float(L1Loss()(pred, target, mask)) == pytest.approx(6 / 12)
    assert float(ForegroundL1Loss()(pred, target, mask)) == pytest.approx(6 / 6)
    assert float(ForegroundMSELoss(min_area=100)(pred, target, mask)) == pytest.approx(12 / 100)
    assert float(ForegroundL1Loss()(pred, target, torch.zeros(1, 1, 2, 2))) == 0.0
    with pytest.raises(ValueError, match='must start with "loss"'):
        L1Loss(loss_name='l1')


def test_relative_foreground_loss_is_the_log_ratio_of_errors_per_image():
    from toolkit.models.losses import RelativeForegroundMSELoss
    generator = torch.Generator().manual_seed(0)
    target = torch.rand(3, 3, 6, 6, generator=generator) * 2 - 1
    composite = target + torch.tensor([0.5, 0.02, 0.0]).view(3, 1, 1, 1)  # far off, close, unchanged
    pred = target + torch.tensor([0.25, 0.04, 0.01]).view(3, 1, 1, 1)
    mask = torch.zeros(3, 1, 6, 6)
    mask[..., 1:5, 2:6] = 1
    loss = RelativeForegroundMSELoss(floor_levels=16.0, level_scale=127.5)
    floor = 16.0 / 127.5 ** 2
    # each foreground error is a constant offset: fMSE = offset² (in normalised units)
    expected = np.mean([np.log((a ** 2 + floor) / (b ** 2 + floor)) for a, b in ((0.25, 0.5), (0.04, 0.02),
                                                                               (0.01, 0.0))])
    assert float(loss(pred, target, mask, composite)) == pytest.approx(expected, rel=1e-5)
    # doubling a close composite's error costs what halving a far one's gains (up to the floor)
    assert float(loss(pred[:1], target[:1], mask[:1], composite[:1])) < 0 < float(
        loss(pred[1:2], target[1:2], mask[1:2], composite[1:2]))
    pred.requires_grad_(True)
    loss(pred, target, mask, composite).backward()
    per_image = pred.grad.abs().flatten(1).sum(1)
    assert per_image[1] > per_image[0]  # the close composite pulls harder than the far one
    assert float(pred.grad[..., 0, :].abs().sum()) == 0.0  # background rows carry no gradient
    with pytest.raises(ValueError, match='composite'):
        loss(pred, target, mask)


def test_registries_build_components():
    assert type(BACKBONES.build(dict(type='UNet', base_channels=2, num_levels=1))).__name__ == 'UNet'
    assert type(LOSSES.build(dict(type='MSELoss'))).__name__ == 'MSELoss'
    fusion = FUSIONS.build(dict(type='IdentityFusion', decoder_channels=4, encoder_channels=4))
    x = torch.randn(1, 4, 3, 3)
    assert fusion(x, x, torch.ones(1, 1, 3, 3)) is x
