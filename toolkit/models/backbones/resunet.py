"""Residual U-Net (the blind-visual-motif-removal family), with an optional attention block on the decoder's
concatenated skips: the backbone of the region-wise contrastive harmonization network, usable by any method.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toolkit.interfaces import BaseBackbone
from toolkit.registry import BACKBONES, MODELS


def _conv3x3(in_channels: int, out_channels: int) -> nn.Conv2d:
    return nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=True)


class _ResidualUnits(nn.Module):
    """``blocks`` single-conv residual units: ``act(norm(conv(x)) + x)``."""

    def __init__(self, channels: int, blocks: int, norm: type, act: type):
        super().__init__()
        self.convs = nn.ModuleList(_conv3x3(channels, channels) for _ in range(blocks))
        self.norms = nn.ModuleList(norm(channels) for _ in range(blocks))
        self.act = act()

    def forward(self, x: Tensor) -> Tensor:
        for conv, norm in zip(self.convs, self.norms):
            x = self.act(norm(conv(x)) + x)
        return x


class _DownBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, blocks: int, norm, act, pool: bool):
        super().__init__()
        self.conv = _conv3x3(in_channels, out_channels)
        self.norm = norm(out_channels)
        self.act = act()
        self.units = _ResidualUnits(out_channels, blocks, norm, act)
        self.pool = pool

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        skip = self.units(self.act(self.norm(self.conv(x))))
        return (F.max_pool2d(skip, 2) if self.pool else skip), skip


class _UpBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, blocks: int, norm, act, attention: Optional[dict]):
        super().__init__()
        self.up = nn.ConvTranspose2d(in_channels, out_channels, 2, stride=2)
        self.up_norm = norm(out_channels)
        self.act = act()
        self.attention = MODELS.build(dict(attention, channels=2 * out_channels)) if attention else None
        self.fuse = _conv3x3(2 * out_channels, out_channels)
        self.fuse_norm = norm(out_channels)
        self.units = _ResidualUnits(out_channels, blocks, norm, act)

    def forward(self, x: Tensor, skip: Tensor, mask: Tensor) -> Tensor:
        y = torch.cat([self.act(self.up_norm(self.up(x))), skip], dim=1)
        if self.attention is not None:
            y = self.attention(y, mask)
        return self.units(self.act(self.fuse_norm(self.fuse(y))))


_NORMS = dict(BN=nn.BatchNorm2d, IN=nn.InstanceNorm2d)


@BACKBONES.register_module()
class ResUNet(BaseBackbone):
    """Residual U-Net (the blind-visual-motif-removal family) with optional S²AM in the decoder.

    Encoder level ``i`` (``i = 0 … depth−1``): 3×3 conv to ``base_channels·2^i``, ``blocks`` single-conv
    residual units, 2×2 max-pool (not after the last). Decoder level ``j`` (deepest first): 2×2
    transposed conv, concat with the encoder skip, S²AM on the concatenation (levels in
    ``attention_levels``), 3×3 conv, residual units, then the fusion block with the skip as
    ``encoder_feat`` and the input-resolution mask (each block resizes it as its method does: RAIN
    nearest, as RainNet; style fusion by area). A 1×1 conv gives the output (no activation).

    Args:
        in_channels: composite + mask = 4.
        base_channels / depth / blocks: width, levels, residual units per level.
        attention: config of the block on the concatenated skip (default ``dict(type='S2AM')``, None = off).
        attention_levels: decoder levels (0 = deepest) that get it; the paper's count needs all four.
        norm: ``'BN'`` or ``'IN'``.

    Example:
        >>> net = ResUNet(base_channels=4, depth=3, blocks=1, attention=None)
        >>> net(torch.zeros(1, 4, 32, 32), torch.ones(1, 1, 32, 32)).shape
        torch.Size([1, 3, 32, 32])
        >>> net.decoder_channels, net.decoder_skip_channels
        ((8, 4), (8, 4))
    """

    def __init__(self, in_channels: int = 4, out_channels: int = 3, base_channels: int = 32, depth: int = 5,
                 blocks: int = 3, attention: Optional[dict] = dict(type='S2AM'),  # noqa: B006  (MMCV layer config: None means none; never mutated)
                 attention_levels: Sequence[int] = (0, 1, 2, 3), norm: str = 'BN', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if depth < 2:
            raise ValueError(f'depth must be >= 2; got {depth}')
        if norm not in _NORMS:
            raise ValueError(f'norm must be one of {sorted(_NORMS)}; got {norm!r}')
        norm_layer, act = _NORMS[norm], lambda: nn.ReLU(inplace=True)
        widths = [base_channels * 2 ** level for level in range(depth)]
        self.depth = depth
        self.encoder_channels = tuple(widths)
        self.decoder_channels = tuple(reversed(widths[:-1]))
        self.decoder_skip_channels = self.decoder_channels
        self.down = nn.ModuleList(
            _DownBlock(in_channels if level == 0 else widths[level - 1], widths[level], blocks, norm_layer, act,
                       pool=level < depth - 1) for level in range(depth))
        self.up = nn.ModuleList(
            _UpBlock(widths[depth - 1 - j], widths[depth - 2 - j], blocks, norm_layer, act,
                     attention if j in tuple(attention_levels) else None) for j in range(depth - 1))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def encode(self, x: Tensor) -> list[Tensor]:
        factor = 2 ** (self.depth - 1)
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f'ResUNet of depth {self.depth} needs H and W divisible by {factor}; '
                             f'got {tuple(x.shape[-2:])}')
        skips = []
        for block in self.down:
            x, skip = block(x)
            skips.append(skip)
        return skips

    def decode(self, encoder_feats: list[Tensor], mask: Tensor,
               fusions: Optional[Sequence[nn.Module]] = None) -> Tensor:
        x = encoder_feats[-1]
        for level, block in enumerate(self.up):
            skip = encoder_feats[-2 - level]
            x = block(x, skip, mask)
            if fusions is not None:  # the full-resolution mask: each block resizes it its own way (RAIN: nearest)
                x = fusions[level](x, skip, mask)
        return self.head(x)
