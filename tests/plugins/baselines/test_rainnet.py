"""RainNet: parameter count, the official checkpoint layout, the converter, and the forward contract.

``OfficialRainNet`` below is an independent transcription of the official generator's module tree
(nested U-blocks, official attribute names, and its in-place activations, which modify the tensors
later used as skip connections), written from the architecture notes; the converter must map its
state dict onto the toolkit's flat model, and both must compute the same output.
"""
import os
import subprocess
import sys

import pytest
import torch
from torch import nn

from plugins.baselines.convert import convert_official_rainnet_state_dict
from plugins.baselines.rainnet import RAINNET_PARAMETERS, RainNet
from tests.toolkit.models.test_fusions import rain_by_hand

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
KEY_LIST = os.path.join(os.path.dirname(__file__), 'data', 'rainnet_official_state_dict.txt')


class OfficialRAIN(nn.Module):
    def __init__(self, channels):
        super().__init__()
        for name in ('foreground_gamma', 'foreground_beta', 'background_gamma', 'background_beta'):
            setattr(self, name, nn.Parameter(torch.zeros(channels)))

    def forward(self, x, mask):
        return rain_by_hand(x, mask.detach(), self.foreground_gamma, self.foreground_beta, self.background_gamma,
                            self.background_beta)


class OfficialBlock(nn.Module):
    def __init__(self, width, submodule=None):
        super().__init__()
        self.innermost = submodule is None
        if self.innermost:
            self.up = nn.Sequential(nn.LeakyReLU(0.2, True), nn.Conv2d(width, width, 4, 2, 1, bias=False),
                                    nn.ReLU(True),
                                    nn.ConvTranspose2d(width, width, 4, 2, 1, bias=False))
        else:
            self.down = nn.Sequential(nn.LeakyReLU(0.2, True), nn.Conv2d(width, width, 4, 2, 1, bias=False))
            self.downnorm = nn.InstanceNorm2d(width)
            self.submodule = submodule
            self.up = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False))
            self.dropout = nn.Dropout(0.5)
        self.upnorm = OfficialRAIN(width)

    def forward(self, x, mask):
        if self.innermost:
            return torch.cat([x, self.upnorm(self.up(x), mask)], 1)
        y = self.submodule(self.downnorm(self.down(x)), mask)
        return torch.cat([x, self.dropout(self.upnorm(self.up(y), mask))], 1)


class OfficialRainNet(nn.Module):
    def __init__(self, input_nc=3, output_nc=3, ngf=64):
        super().__init__()
        self.model_layer0 = nn.Conv2d(input_nc, ngf, 4, 2, 1, bias=False)
        for index, (cin, cout) in enumerate([(ngf, 2 * ngf), (2 * ngf, 4 * ngf), (4 * ngf, 8 * ngf)], 1):
            setattr(self, f'model_layer{index}', nn.Sequential(nn.LeakyReLU(0.2, True), nn.Conv2d(cin, cout, 4, 2, 1,
                                                                                             bias=False)))
            setattr(self, f'model_layer{index}norm', nn.InstanceNorm2d(cout))
        block = OfficialBlock(8 * ngf)
        for _ in range(3):
            block = OfficialBlock(8 * ngf, block)
        self.unet_block = block
        for index, (cin, cout) in zip((11, 12, 13), [(16 * ngf, 4 * ngf), (8 * ngf, 2 * ngf), (4 * ngf, ngf)]):
            setattr(self, f'model_layer{index}', nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(cin, cout, 4, 2, 1,
                                                                                              bias=False)))
            setattr(self, f'model_layer{index}norm', OfficialRAIN(cout))
            setattr(self, f'model_layer{index}att', nn.Sequential(nn.Conv2d(2 * cout, 2 * cout, 1), nn.Sigmoid()))
        self.model_out = nn.Sequential(nn.ReLU(True), nn.ConvTranspose2d(2 * ngf, output_nc, 4, 2, 1))

    def forward(self, x, mask):
        x0 = self.model_layer0(x)
        x1 = self.model_layer1norm(self.model_layer1(x0))
        x2 = self.model_layer2norm(self.model_layer2(x1))
        x3 = self.model_layer3norm(self.model_layer3(x2))
        y = self.unet_block(x3, mask)
        for index, skip in zip((11, 12, 13), (x2, x1, x0)):
            y = getattr(self, f'model_layer{index}norm')(getattr(self, f'model_layer{index}')(y), mask)
            y = torch.cat([skip, y], 1)
            y = y * getattr(self, f'model_layer{index}att')(y)
        return torch.tanh(self.model_out(y))


def _official_key_list():
    entries = {}
    with open(KEY_LIST) as handle:
        for line in handle:
            if line.startswith('#') or not line.strip():
                continue
            key, shape = line.split(' ', 1)
            entries[key] = tuple(int(v) for v in shape.rsplit(' ', 1)[0].strip('()').split(',') if v.strip())
    return entries


def test_full_size_parameter_count_and_official_layout():
    model = RainNet()
    assert sum(p.numel() for p in model.parameters()) == RAINNET_PARAMETERS == 54_759_043
    assert sum(p.numel() for p in RainNet(input_nc=4).parameters()) == 54_760_067
    official = OfficialRainNet()
    listed = _official_key_list()
    # the transcription used in these tests has exactly the released checkpoint's keys and shapes
    assert {k: tuple(v.shape) for k, v in official.state_dict().items()} == listed
    assert len(listed) == 51
    converted = convert_official_rainnet_state_dict(official.state_dict(), model)
    model.load_state_dict(converted, strict=True)


def test_converter_reproduces_the_official_forward():
    torch.manual_seed(0)
    official = OfficialRainNet(ngf=4).double()
    with torch.no_grad():
        for name, parameter in official.named_parameters():
            if 'gamma' in name or 'beta' in name:
                parameter.normal_(0, 0.3)  # non-trivial RAIN affine
    model = RainNet(ngf=4).double()
    model.load_state_dict(convert_official_rainnet_state_dict(official.state_dict(), model), strict=True)
    official.eval()
    model.eval()
    composite = torch.rand(2, 3, 256, 256, dtype=torch.float64) * 2 - 1  # [-1, 1] as the official loader
    mask = torch.zeros(2, 1, 256, 256, dtype=torch.float64)
    mask[0, :, 64:192, 32:160] = 1
    mask[1, :, 100:250, 10:90] = 1
    with torch.no_grad():
        raw = official(composite, mask)
        expected = raw * mask + composite * (1 - mask)  # the official processImage compositing
        assert torch.allclose(model.generator(composite, mask), raw, atol=1e-10)
        assert torch.allclose(model(dict(composite=composite, mask=mask)), expected, atol=1e-10)


def test_converter_reports_every_problem():
    official = OfficialRainNet(ngf=4).state_dict()
    official['extra.weight'] = torch.zeros(1)
    del official['model_out.1.bias']
    official['model_layer0.weight'] = torch.zeros(4, 4, 4, 4)
    with pytest.raises(KeyError) as error:
        convert_official_rainnet_state_dict(official, RainNet(ngf=4), source='net_G_last.pth')
    message = error.value.args[0]
    assert 'net_G_last.pth does not match the RainNet model' in message
    assert 'missing (2): generator.enc0.weight, generator.out.bias' in message
    assert 'unexpected (1): extra.weight' in message
    assert 'model_layer0.weight (4, 4, 4, 4) -> generator.enc0.weight expects (4, 3, 4, 4)' in message
    # DataParallel prefixes are accepted
    prefixed = {f'module.{k}': v for k, v in OfficialRainNet(ngf=4).state_dict().items()}
    assert len(convert_official_rainnet_state_dict(prefixed, RainNet(ngf=4))) == 51


def test_convert_checkpoint_tool_writes_loadable_safetensors(tmp_path):
    source = tmp_path / 'net_G_last.pth'
    torch.save(OfficialRainNet().state_dict(), source)
    destination = tmp_path / 'rainnet.safetensors'
    result = subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'tools', 'convert_checkpoint.py'), 'rainnet',
                             str(source), str(destination)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert 'wrote' in result.stdout and '54,759,043 parameters' in result.stdout
    from mmengine.runner.checkpoint import CheckpointLoader
    state = CheckpointLoader.load_checkpoint(str(destination), map_location='cpu')
    RainNet().load_state_dict(state, strict=True)
    bad = tmp_path / 'bad.pth'
    torch.save({'model_layer0.weight': torch.zeros(64, 3, 4, 4)}, bad)
    result = subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'tools', 'convert_checkpoint.py'), 'rainnet',
                             str(bad), str(tmp_path / 'x.safetensors')], capture_output=True, text=True, timeout=300)
    assert result.returncode == 1 and 'missing (50)' in result.stderr


def test_input_size_and_channel_checks():
    model = RainNet(ngf=2)
    with pytest.raises(ValueError, match='divisible by 256'):
        model(dict(composite=torch.zeros(1, 3, 128, 128), mask=torch.ones(1, 1, 128, 128)))
    four = RainNet(ngf=2, input_nc=4)
    assert four(dict(composite=torch.zeros(1, 3, 256, 256), mask=torch.ones(1, 1, 256, 256))).shape == (1, 3, 256, 256)


def test_tiny_config_trains_on_cpu(tmp_path):
    from toolkit.engine.launch import train
    config = os.path.join(REPO_ROOT, 'configs', 'rainnet', 'rainnet-tiny_l1_adam-40i_samples-256.py')
    runner = train(config, work_dir=str(tmp_path))
    losses = torch.tensor(runner.message_hub.get_scalar('train/loss').data[0])
    assert len(losses) == 40 and torch.isfinite(losses).all()
    # batches of 2 out of 6 very different images: compare 10-iteration means
    assert losses[-10:].mean() < 0.8 * losses[:10].mean(), losses
    assert os.path.isfile(os.path.join(str(tmp_path), 'iter_40.pth'))
