"""Raiha network: parameter count, SGF (eqs. 8-10) against a written-out reference, masking, gradients, the
non-reference path, DRConv, reference sampling, the loss of eq. 11, and tiny training with/without references."""
import os
import random

import numpy as np
import pytest
import torch

import plugins.raiha  # noqa: F401
from plugins.raiha import DynamicRegionConv, MakeTargetReference, RaihaUNet, SampleRaihaReference, SemanticGuidedFusion
from tests.conftest import random_state_dict
from toolkit.models import HarmonizationDataPreprocessor

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
TINY_ENCODER = dict(type='DenseContentEncoder', input_size=112,
                    arch=dict(hidden_size=24, num_hidden_layers=1, num_attention_heads=2, patch_size=14,
                              image_size=28))


def test_parameter_count_matches_the_released_generator():
    # released RHNet: 11,461,173 (ngf 32) and 45,040,725 (ngf 64) including three unused DRConv guide convs
    # (2C + 2 each, C = 8, 4, 2 x ngf), which are left out here
    for ngf, released in ((32, 11_461_173), (64, 45_040_725)):
        unused = sum(2 * c * ngf + 2 for c in (8, 4, 2))
        model = RaihaUNet(ngf=ngf, content_channels=768)
        assert sum(p.numel() for p in model.parameters()) == released - unused
    assert sum(p.numel() for p in RaihaUNet(ngf=32).sgf.parameters()) == 1_180_160   # the released block


def reference_sgf(sgf, x, content, mask, ref_x, ref_content):
    """Eqs. 8-10 written out per sample with explicit loops over query cells."""
    batch, channels, height, width = x.shape
    fg = (torch.nn.functional.adaptive_max_pool2d(mask, (height, width)) > 0).float().view(batch, -1)
    out = x.clone()
    for b in range(batch):
        keys, values = [], []
        for features, guide, background in ((x[b], content[b], 1 - fg[b]), (ref_x[b, 0], ref_content[b, 0], None)):
            projected = sgf.key_projection(torch.cat([features, guide])[None])[0].view(channels, -1)
            for index in range(height * width):
                if background is None or background[index] > 0:
                    keys.append(projected[:, index] / projected[:, index].norm())
                    values.append(features.view(channels, -1)[:, index])
        keys, values = torch.stack(keys), torch.stack(values)
        queries = sgf.query_projection(torch.cat([x[b], content[b]])[None])[0].view(channels, -1)
        for index in range(height * width):
            if fg[b, index] == 0:
                continue
            query = queries[:, index] / queries[:, index].norm()
            weights = torch.softmax(keys @ query * sgf.temperature, dim=0)
            attended = weights @ values
            fused = sgf.fuse(torch.cat([attended, x[b].view(channels, -1)[:, index]])[None, :, None, None])
            out[b].view(channels, -1)[:, index] = fused.view(-1)
    return out


def test_sgf_matches_the_written_out_equations_and_masks_attention():
    torch.manual_seed(0)
    sgf = SemanticGuidedFusion(channels=6, content_channels=5)
    sgf.record_attention = True
    x, content = torch.randn(2, 6, 4, 4), torch.randn(2, 5, 4, 4)
    ref_x, ref_content = torch.randn(2, 1, 6, 4, 4), torch.randn(2, 1, 5, 4, 4)
    mask = torch.zeros(2, 1, 16, 16)
    mask[0, :, :8, :4] = 1
    mask[1, :, 5:6, 9:10] = 1   # one pixel: its cell is foreground (max-pooling)
    out = sgf(x, content, mask, ref_x, ref_content)
    assert torch.allclose(out, reference_sgf(sgf, x, content, mask, ref_x, ref_content), atol=1e-5)
    attention = sgf.last_attention                            # (B, queries, composite keys + reference keys)
    fg = (torch.nn.functional.adaptive_max_pool2d(mask, 4) > 0).view(2, -1)
    assert attention.shape == (2, 16, 32)
    assert torch.allclose(attention[fg].sum(-1), torch.ones(int(fg.sum())), atol=1e-5)   # fg rows: softmax
    assert attention[~fg].abs().sum() == 0                                            # bg rows: nothing
    assert attention[:, :, :16].masked_select(fg[:, None, :].expand(-1, 16, -1)).abs().sum() == 0   # fg keys
    assert torch.equal(out.flatten(2)[~fg[:, None, :].expand(-1, 6, -1)],
                       x.flatten(2)[~fg[:, None, :].expand(-1, 6, -1)])                # bg passes through


def test_sgf_gradients_and_invalid_references():
    torch.manual_seed(1)
    sgf = SemanticGuidedFusion(channels=4, content_channels=3, shared_projection=False)
    x = torch.randn(1, 4, 4, 4, requires_grad=True)
    ref_x = torch.randn(1, 1, 4, 4, 4, requires_grad=True)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., :4, :4] = 1
    out = sgf(x, torch.randn(1, 3, 4, 4), mask, ref_x, torch.randn(1, 1, 3, 4, 4))
    out.square().sum().backward()
    for name, parameter in sgf.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name
    assert x.grad.abs().sum() > 0 and ref_x.grad.abs().sum() > 0
    # an invalid (padding) reference gets zero attention: same output as no reference at all
    content = torch.randn(1, 3, 4, 4)
    with torch.no_grad():
        alone = sgf(x, content, mask)
        padded = sgf(x, content, mask, ref_x, torch.randn(1, 1, 3, 4, 4), reference_valid=torch.tensor([[False]]))
    assert torch.allclose(alone, padded, atol=1e-6)
    # a foreground covering everything, no reference: no admissible key → the fused path sees zeros, no NaN
    with torch.no_grad():
        full = sgf(x, content, torch.ones(1, 1, 8, 8))
    assert torch.isfinite(full).all()
    with pytest.raises(ValueError, match='content features'):
        sgf(x, None, mask)


def test_dynamic_region_conv_by_hand():
    torch.manual_seed(2)
    conv = DynamicRegionConv(3)
    x = torch.randn(2, 3, 4, 4)
    mask = torch.zeros(2, 1, 4, 4)
    mask[:, :, :2] = 1
    out = conv(x, mask)
    for b in range(2):
        gate = torch.sigmoid(conv.squeeze.weight.view(4, 3) @ x[b].mean((1, 2)) + conv.squeeze.bias)
        weight = conv.kernels.weight.view(2, 9, 2)      # group g maps gate[2g:2g+2] to 9 = C*C kernel entries
        bias = conv.kernels.bias.view(2, 9)
        kernels = [(weight[g] @ gate[2 * g:2 * g + 2] + bias[g]).view(3, 3) for g in range(2)]
        expected_fg = torch.einsum('ij,jhw->ihw', kernels[0], x[b])
        expected_bg = torch.einsum('ij,jhw->ihw', kernels[1], x[b])
        assert torch.allclose(out[b, :, :2], expected_fg[:, :2], atol=1e-5)
        assert torch.allclose(out[b, :, 2:], expected_bg[:, 2:], atol=1e-5)


def build_tiny(**kwargs):
    from toolkit.registry import MODELS
    torch.manual_seed(0)
    return MODELS.build(dict(type='RaihaHarmonizer', generator=dict(ngf=4), content_encoder=TINY_ENCODER,
                             losses=dict(type='ForegroundMSELoss', min_area=300), **kwargs))


def test_harmonizer_reference_and_non_reference_paths():
    model = build_tiny()
    composite = torch.rand(2, 3, 64, 64) * 2 - 1
    mask = torch.zeros(2, 1, 64, 64)
    mask[..., 8:40, 16:48] = 1
    references = torch.rand(2, 1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        alone = model(dict(composite=composite, mask=mask))
        guided = model(dict(composite=composite, mask=mask, references=references))
        padded = model(dict(composite=composite, mask=mask, references=references,
                            reference_valid=torch.tensor([[False], [True]])))
    assert alone.shape == composite.shape and not torch.allclose(alone, guided)
    assert torch.allclose(padded[0], alone[0], atol=1e-6) and torch.allclose(padded[1], guided[1], atol=1e-6)
    assert torch.equal(alone * (1 - mask), composite * (1 - mask))           # background pasted back
    # the frozen encoder is outside the state dict and the optimiser, but follows .to()
    assert not any(key.startswith('content_encoder') for key in model.state_dict())
    assert all(not name.startswith('content_encoder') for name, _ in model.named_parameters())
    model.double()
    assert next(model.content_encoder.parameters()).dtype == torch.float64
    with pytest.raises(ValueError, match=r'references must be \(B, R, 3, H, W\)'):
        model.float()(dict(composite=composite, mask=mask, references=references[:, 0]))


def test_preprocessor_pads_missing_references():
    pre = HarmonizationDataPreprocessor()
    ref = torch.full((1, 3, 4, 4), 255, dtype=torch.uint8)
    batch = pre(dict(inputs=[dict(composite=torch.zeros(3, 4, 4, dtype=torch.uint8), mask=torch.ones(1, 4, 4)),
                             dict(composite=torch.zeros(3, 4, 4, dtype=torch.uint8), mask=torch.ones(1, 4, 4),
                                  references=ref)]))['inputs']
    assert batch['references'].shape == (2, 1, 3, 4, 4)
    assert batch['reference_valid'].tolist() == [[False], [True]]
    assert batch['references'][1].unique().tolist() == [1.0]


def test_eq11_loss_equals_the_released_normalisation():
    from toolkit.models.losses import ForegroundMSELoss
    torch.manual_seed(0)
    pred, target = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    mask = torch.zeros(3, 1, 16, 16)
    mask[0, :, :10, :10] = 1      # area 100 (at the floor)
    mask[1, :, :2, :3] = 1        # area 6 (floored to 100)
    mask[2] = 1                   # area 256
    pred = pred * mask + target * (1 - mask)   # the composited prediction: background error is zero
    loss = ForegroundMSELoss(min_area=300)(pred, target, mask)
    released = sum(((pred[i] - target[i]) ** 2).sum() / (3 * max(mask[i].sum().item(), 100)) for i in range(3)) / 3
    assert loss.item() == pytest.approx(released.item(), rel=1e-6)


def test_reference_sampling_transforms():
    random.seed(0)
    sampler = SampleRaihaReference(retrieved_prob=0.5)
    picks = [sampler(dict(ref_paths=['a.jpg', 'b.jpg']))['reference_from_target'] for _ in range(400)]
    assert 0.4 < np.mean(picks) < 0.6
    assert sampler(dict(ref_paths=[]))['reference_from_target'] is True          # no retrieval → target
    only_retrieved = SampleRaihaReference(use_augmented=False)
    assert only_retrieved(dict(ref_paths=[]))['ref_paths'] == []
    assert SampleRaihaReference(use_retrieved=False)(dict(ref_paths=['a.jpg']))['ref_paths'] == []
    maker = MakeTargetReference(crop_ratio=0.75, flip_prob=0.0)
    mask = np.zeros((64, 64), np.float32)
    mask[40:60, 40:60] = 1
    target = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    for _ in range(20):
        results = maker(dict(reference_from_target=True, gt=target, mask=mask, refs=[]))
        top, left, height, width = results['target_reference_box']
        assert mask[top:top + height, left:left + width].sum() > 0.5 * mask.sum()
        assert results['refs'][0].shape == target.shape
    assert maker(dict(reference_from_target=False, gt=target, mask=mask)).get('refs') is None


@pytest.mark.parametrize('non_reference_prob', [0.0, 1.0])
def test_tiny_config_trains_with_and_without_references(tmp_path, non_reference_prob):
    from mmengine.config import Config
    from mmengine.runner import Runner
    cfg = Config.fromfile(os.path.join(REPO, 'configs/raiha/raiha-tiny_sgf_adam-20i_samples-64.py'))
    cfg.work_dir = str(tmp_path)
    cfg.model.non_reference_prob = non_reference_prob
    cfg.train_cfg.max_iters = 4
    cfg.train_cfg.val_interval = 4
    cfg.default_hooks.checkpoint.interval = 4
    cfg.custom_hooks = [dict(type='ContentEncoderRecordHook')]
    runner = Runner.from_cfg(cfg)
    sgf = runner.model.generator.sgf
    sgf.record_attention = True
    keys_seen = []
    sgf.register_forward_hook(lambda module, args, out: keys_seen.append(module.last_attention.shape[-1]))
    before = {name: p.detach().clone() for name, p in runner.model.named_parameters()}
    runner.train()
    changed = [name for name, p in runner.model.named_parameters() if not torch.equal(p, before[name])]
    assert changed, 'no parameter was updated'
    grid_cells = 8 * 8
    training_keys = keys_seen[:4]
    # with references every training forward attends over composite + reference cells, without only composite
    assert set(training_keys) == ({2 * grid_cells} if non_reference_prob == 0.0 else {grid_cells})
    assert os.path.isfile(os.path.join(str(tmp_path), 'iter_4.pth'))
    # the checkpoint names the content encoder its SGF was trained on (it is not in the state dict)
    from toolkit.checkpoint import safe_torch_load
    meta = safe_torch_load(os.path.join(str(tmp_path), 'iter_4.pth'))['meta']
    assert meta['content_encoder'] == runner.model.content_encoder.identity
    assert meta['content_encoder']['arch']['hidden_size'] == 24


def test_concat_mode_is_the_released_side_by_side_canvas():
    """Each sample's output = the network on ``[x̃ | its valid references]`` (mask ``[m | 0]``), cropped: the
    released code's layout; padded references never enter the canvas."""
    torch.manual_seed(0)
    net = RaihaUNet(ngf=4, content_channels=5).eval()
    assert net.reference_mode == 'concat'
    composite, refs = torch.rand(3, 3, 16, 24) * 2 - 1, torch.rand(3, 2, 3, 16, 24) * 2 - 1
    content, ref_content = torch.randn(3, 5, 2, 3), torch.randn(3, 2, 5, 2, 3)
    mask = torch.zeros(3, 1, 16, 24)
    mask[..., 4:12, 6:14] = 1
    valid = torch.tensor([[False, True], [True, True], [False, False]])
    with torch.no_grad():
        out = net(composite, mask, content, refs, ref_content, valid)
        for b in range(3):
            kept = [r for r in range(2) if valid[b, r]]
            canvas = torch.cat([composite[b:b + 1]] + [refs[b:b + 1, r] for r in kept], -1)
            canvas_mask = torch.cat([mask[b:b + 1]] + [torch.zeros_like(mask[b:b + 1])] * len(kept), -1)
            canvas_content = torch.cat([content[b:b + 1]] + [ref_content[b:b + 1, r] for r in kept], -1)
            expected = net(canvas, canvas_mask, canvas_content)[..., :24]
            assert torch.allclose(out[b:b + 1], expected, atol=1e-6)
        # attention mode on the same weights: a different reading, a different output
        net.reference_mode = 'attention'
        assert not torch.allclose(net(composite, mask, content, refs, ref_content, valid)[:2], out[:2], atol=1e-3)
    with pytest.raises(ValueError, match='reference_mode'):
        RaihaUNet(ngf=4, reference_mode='side')


def _reference_only_task(batch, generator, size=32):
    """The target foreground colour exists only in the reference: the composite's background is neutral, its
    foreground a random colour; the reference shows the target colour (left half) beside neutral (right half)."""
    texture = 0.15 * torch.randn(batch, 1, size, size, generator=generator)
    source_colour = torch.rand(batch, 3, 1, 1, generator=generator) * 1.6 - 0.8
    target_colour = torch.rand(batch, 3, 1, 1, generator=generator) * 1.6 - 0.8
    mask = torch.zeros(batch, 1, size, size)
    for b in range(batch):
        top, left = torch.randint(0, size // 2, (2,), generator=generator).tolist()
        mask[b, :, top:top + size // 2, left:left + size // 2] = 1
    background = texture.expand(-1, 3, -1, -1) * 0.5
    composite = mask * (source_colour + texture) + (1 - mask) * background
    target = mask * (target_colour + texture) + (1 - mask) * background
    reference = target_colour + 0.15 * torch.randn(batch, 1, size, size, generator=generator)
    reference[..., size // 2:] = background[..., size // 2:]
    return composite.clamp(-1, 1), mask, reference[:, None].clamp(-1, 1), target.clamp(-1, 1)


@pytest.mark.parametrize('mode, max_ratio', [('concat', 0.3), ('attention', 0.85)])
def test_the_reference_is_used_when_only_it_holds_the_answer(mode, max_ratio):
    """Trained briefly on a task only the reference can solve, the network's foreground error with the right
    reference must be well below its error with another sample's reference (shuffled) or none. Measured
    (300 iterations, ngf 8): concat 0.036 right vs 0.383 shuffled; attention 0.177 vs 0.277, since each
    image's instance norms strip the reference's colour before SGF sees it (docs/raiha.md)."""
    torch.manual_seed(0)
    net = RaihaUNet(ngf=8, content_channels=0, reference_mode=mode)
    optimizer = torch.optim.Adam(net.parameters(), 2e-3)
    generator = torch.Generator().manual_seed(1)

    def foreground_error(prediction, target, mask):
        return (((prediction - target) ** 2) * mask).sum() / (3 * mask.sum())

    for _ in range(300):
        composite, mask, reference, target = _reference_only_task(16, generator)
        loss = foreground_error(net(composite, mask, None, reference), target, mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    net.eval()
    with torch.no_grad():
        composite, mask, reference, target = _reference_only_task(64, torch.Generator().manual_seed(99))
        right = foreground_error(net(composite, mask, None, reference), target, mask)
        shuffled = foreground_error(net(composite, mask, None, reference.roll(1, 0)), target, mask)
        without = foreground_error(net(composite, mask, None), target, mask)
    assert right < max_ratio * shuffled and right < max_ratio * without, (right, shuffled, without)


# ---------------------------------------------------------------------------------------------- released weights
RELEASED_KEYS = os.path.join(os.path.dirname(__file__), 'data', 'released_rhnet_ngf32_state_dict.txt')


def released_state_dict(seed=0):
    """Random tensors under the released generator's names and shapes (the list is written from the code)."""
    return random_state_dict(RELEASED_KEYS, seed)


def test_released_generator_keys_convert_one_to_one():
    from plugins.raiha.convert import convert_released_rhnet_state_dict
    released = released_state_dict()
    assert sum(value.numel() for value in released.values()) == 11_461_173   # the released count
    net = RaihaUNet()
    converted = convert_released_rhnet_state_dict({'module.' + k: v for k, v in released.items()}, net)
    net.load_state_dict(converted, strict=True)
    # spot checks of the renaming, against the released names
    assert torch.equal(net.stem.weight, released['model_layer0.weight'])
    assert torch.equal(net.down[5][1].weight, released['model_layer6.1.weight'])
    assert torch.equal(net.up[0][1].weight, released['model_layer9.1.weight'])
    assert torch.equal(net.up_norms[4].background_beta, released['model_layer13norm.background_beta'])
    assert torch.equal(net.sgf.query_projection.weight, released['DVTATT.K_conv.weight'])
    assert torch.equal(net.sgf.key_projection.bias, released['DVTATT.K_conv.bias'])
    assert torch.equal(net.region_convs[0].kernels.weight, released['model_layer11att.conv_kernel.3.weight'])
    # a missing tensor, an unknown one and a wrong shape are each named
    broken = dict(released)
    broken.pop('model_layer5.1.weight')
    broken['model_layer14.1.weight'] = torch.zeros(1)
    broken['model_out.1.bias'] = torch.zeros(4)
    with pytest.raises(KeyError) as error:
        convert_released_rhnet_state_dict(broken, RaihaUNet(), source='60_net_G.pth')
    message = str(error.value.args[0])
    assert '60_net_G.pth' in message and 'down.4.1.weight' in message and 'model_layer14.1.weight' in message
    assert 'model_out.1.bias (4,) -> head.1.bias expects (3,)' in message


def test_converted_region_conv_computes_the_released_function():
    """The released DRConv (global pool → conv_kernel → per-sample grouped conv, region 0 = foreground), written
    out with plain convolutions on the released tensors, equals DynamicRegionConv with converted weights."""
    from plugins.raiha.convert import convert_released_rhnet_state_dict
    released = released_state_dict(seed=1)
    net = RaihaUNet()
    net.load_state_dict(convert_released_rhnet_state_dict(released, net))
    channels = 64  # layer 13: DRConv over 2·ngf channels
    x = torch.randn(2, channels, 8, 8)
    mask = torch.zeros(2, 1, 16, 16)
    mask[0, :, :8] = 1
    mask[1, :, 4:12, 4:12] = 1
    gate = torch.sigmoid(torch.nn.functional.conv2d(x.mean((2, 3), keepdim=True),
                                                    released['model_layer13att.conv_kernel.1.weight'],
                                                    released['model_layer13att.conv_kernel.1.bias']))
    kernel = torch.nn.functional.conv2d(gate, released['model_layer13att.conv_kernel.3.weight'],
                                        released['model_layer13att.conv_kernel.3.bias'], groups=2)
    per_sample = torch.nn.functional.conv2d(x.reshape(1, -1, 8, 8), kernel.reshape(-1, channels, 1, 1), groups=2)
    regions = per_sample.view(2, 2, channels, 8, 8)
    small = torch.nn.functional.interpolate(mask, size=(8, 8), mode='nearest')[:, None]
    expected = (regions * torch.cat([small, 1 - small], 1)).sum(1)
    with torch.no_grad():
        assert torch.allclose(net.region_convs[2](x, mask), expected, atol=1e-5)


def test_convert_tool_writes_a_loadable_raiha_checkpoint(tmp_path):
    import subprocess
    import sys

    from safetensors.torch import load_file
    source = str(tmp_path / '60_net_G.pth')
    torch.save(released_state_dict(), source)
    destination = str(tmp_path / 'raiha.safetensors')
    done = subprocess.run([sys.executable, os.path.join(REPO, 'tools', 'convert_checkpoint.py'), 'raiha', source,
                           destination], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, done.stderr
    from toolkit.registry import MODELS
    model = MODELS.build(dict(type='RaihaHarmonizer', content_encoder=dict(TINY_ENCODER, arch=dict(
        TINY_ENCODER['arch'], hidden_size=768, num_attention_heads=12))))
    model.load_state_dict(load_file(destination), strict=True)
    assert torch.equal(model.generator.sgf.fuse.weight, released_state_dict()['DVTATT.fuse.weight'])
