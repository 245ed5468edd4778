"""RainNet (Ling et al., "Region-aware Adaptive Instance Normalization for Image Harmonization", CVPR 2021).

The generator is the official pix2pix-style U-Net (ngf 64, 8 stride-2 levels, InstanceNorm in the
encoder, RAIN in the decoder, dropout in the three inner up-blocks, 1×1-conv + sigmoid attention on
the three outer skip concatenations, tanh output), written flat instead of as nested blocks. With
``input_nc=3`` (the released configuration) it has exactly **54,759,043** parameters.

Forward contract matched (docs/baselines.md): images in [-1, 1] (the data preprocessor's default
``(x − 127.5) / 127.5`` equals the official ``Normalize(0.5, 0.5)``), mask in {0, 1}; the generator
returns the raw tanh image, and the harmonizer composites it with the input background
(``pred·m + composite·(1 − m)``) as the official ``processImage`` and training code do.
:func:`convert_official_rainnet_state_dict` maps the official ``net_G_last.pth`` onto this model.
"""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toolkit.models.base_harmonizer import BaseHarmonizer
from toolkit.models.fusions.normalization import RAIN
from toolkit.registry import MODELS

RAINNET_PARAMETERS = 54_759_043


def _conv(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 4, 2, 1, bias=False)


def _deconv(in_channels: int, out_channels: int, bias: bool = False) -> nn.ConvTranspose2d:
    return nn.ConvTranspose2d(in_channels, out_channels, 4, 2, 1, bias=bias)


def _lrelu(x: Tensor) -> Tensor:
    return F.leaky_relu(x, 0.2)


class RainNetGenerator(nn.Module):
    """The RainNet U-Net. ``forward(x (B, input_nc, H, W), mask (B, 1, H, W)) → (B, output_nc, H, W)`` in [-1, 1].

    ``H`` and ``W`` must be multiples of 256 (eight stride-2 levels down to 1×1).

    Every down step is LeakyReLU(0.2) → conv, every up step ReLU → transposed conv (as the official
    code). The official code applies the LeakyReLU *in place* to the tensor it later concatenates
    as the skip connection, so every skip carries the activated encoder feature; here that is
    written out explicitly (``skip = leaky_relu(feature)``) instead of happening as a side effect.

    Args:
        input_nc: 3 (released model: the mask enters only through RAIN) or 4 (composite + mask).
        ngf: width of the first level.
        use_dropout: Dropout(0.5) in the three inner up-blocks (active in ``train()`` only).
    """

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, use_dropout: bool = True):
        super().__init__()
        self.input_nc = input_nc
        widths = (ngf, ngf * 2, ngf * 4, ngf * 8)
        inner = ngf * 8
        self.enc0 = nn.Conv2d(input_nc, ngf, 4, 2, 1, bias=False)
        self.enc1, self.enc2, self.enc3 = (_conv(widths[i], widths[i + 1]) for i in range(3))
        self.enc_norms = nn.ModuleList(nn.InstanceNorm2d(w) for w in widths[1:])
        # three inner U-blocks (outer → inner), InstanceNorm after each down conv
        self.down_blocks = nn.ModuleList(_conv(inner, inner) for _ in range(3))
        self.down_norms = nn.ModuleList(nn.InstanceNorm2d(inner) for _ in range(3))
        # innermost block: down conv, up conv, no norm between
        self.innermost_down = _conv(inner, inner)
        self.innermost_up = _deconv(inner, inner)
        self.innermost_norm = RAIN(inner)
        # up paths of the three inner U-blocks (inner → outer)
        self.up_blocks = nn.ModuleList(_deconv(inner * 2, inner) for _ in range(3))
        self.up_norms = nn.ModuleList(RAIN(inner) for _ in range(3))
        self.dropout = nn.Dropout(0.5) if use_dropout else nn.Identity()
        # outer decoder levels; a 1×1 conv + sigmoid gates each skip concatenation
        self.decoder = nn.ModuleList([_deconv(widths[3] * 2, widths[2]), _deconv(widths[2] * 2, widths[1]),
                                      _deconv(widths[1] * 2, widths[0])])
        self.decoder_norms = nn.ModuleList(RAIN(w) for w in (widths[2], widths[1], widths[0]))
        self.attention = nn.ModuleList(nn.Conv2d(2 * w, 2 * w, 1) for w in (widths[2], widths[1], widths[0]))
        self.out = _deconv(widths[0] * 2, output_nc, bias=True)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        if x.shape[1] != self.input_nc:
            raise ValueError(f'RainNet(input_nc={self.input_nc}) got {x.shape[1]} input channels')
        if x.shape[-1] % 256 or x.shape[-2] % 256:
            raise ValueError(f'RainNet needs H and W divisible by 256; got {tuple(x.shape[-2:])}')
        # encoder: skips[i] is the activated feature both the next conv and the decoder see
        skips = [_lrelu(self.enc0(x))]
        for conv, norm in zip((self.enc1, self.enc2, self.enc3), self.enc_norms):
            skips.append(_lrelu(norm(conv(skips[-1]))))
        for conv, norm in zip(self.down_blocks, self.down_norms):
            skips.append(_lrelu(norm(conv(skips[-1]))))
        # skips: 4 outer levels (ngf … 8ngf) then the three inner U-block inputs
        inner = self.innermost_norm(self.innermost_up(F.relu(self.innermost_down(skips[-1]))), None, mask)
        y = torch.cat([skips[-1], inner], dim=1)
        for index, (deconv, norm) in enumerate(zip(self.up_blocks, self.up_norms)):
            y = torch.cat([skips[-2 - index], self.dropout(norm(deconv(F.relu(y)), None, mask))], dim=1)
        for deconv, norm, attention, skip in zip(self.decoder, self.decoder_norms, self.attention, skips[2::-1]):
            y = torch.cat([skip, norm(deconv(F.relu(y)), None, mask)], dim=1)
            y = y * torch.sigmoid(attention(y))
        return torch.tanh(self.out(F.relu(y)))


@MODELS.register_module()
class RainNet(BaseHarmonizer):
    """RainNet harmonizer: :class:`RainNetGenerator` + background compositing + losses.

    Example:
        >>> model = RainNet(ngf=2)
        >>> out = model(dict(composite=torch.zeros(1, 3, 256, 256), mask=torch.ones(1, 1, 256, 256)))
        >>> tuple(out.shape)
        (1, 3, 256, 256)
    """

    def __init__(self, input_nc: int = 3, output_nc: int = 3, ngf: int = 64, use_dropout: bool = True, **kwargs):
        super().__init__(**kwargs)
        if input_nc not in (3, 4):
            raise ValueError(f'input_nc must be 3 (composite) or 4 (composite + mask); got {input_nc}')
        self.generator = RainNetGenerator(input_nc, output_nc, ngf, use_dropout)

    def harmonize(self, composite: Tensor, mask: Tensor, references: Optional[Tensor] = None) -> Tensor:
        inputs = composite if self.generator.input_nc == 3 else torch.cat([composite, mask], dim=1)
        return self.generator(inputs, mask)
