"""A plain UNet: the toolkit's reference backbone and the smallest complete example of the interface."""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from torch import Tensor, nn

from toolkit.interfaces import BaseBackbone
from toolkit.registry import BACKBONES


class _DoubleConv(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int, norm_cfg: Optional[dict], act_cfg: dict):
        super().__init__(
            ConvModule(in_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg),
            ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=act_cfg))


@BACKBONES.register_module()
class UNet(BaseBackbone):
    """UNet with strided-convolution downsampling, bilinear upsampling and skip concatenation.

    Encoder level ``i`` has ``base_channels · 2**i`` channels at ``H / 2**i``
    (``i = 0 … num_levels``). Decoder level ``j`` (deepest first) upsamples, concatenates
    the encoder feature of the same size, applies two convolutions, then the fusion
    block ``fusions[j](decoder_feat, encoder_feat, mask)`` with the input-resolution mask.

    Args:
        in_channels: input channels (composite + mask = 4).
        out_channels: output channels.
        base_channels: channels of the first level.
        num_levels: number of downsamplings; ``H`` and ``W`` must be divisible by ``2**num_levels``.
        norm_cfg / act_cfg: MMCV layer configs.

    Shapes:
        ``x (B, in_channels, H, W)``, ``mask (B, 1, H, W)`` → ``(B, out_channels, H, W)``.

    Example:
        >>> net = UNet(base_channels=4, num_levels=2)
        >>> [tuple(f.shape) for f in net.encode(torch.zeros(1, 4, 16, 16))]
        [(1, 4, 16, 16), (1, 8, 8, 8), (1, 16, 4, 4)]
        >>> net.decoder_channels, net.decoder_skip_channels
        ((8, 4), (8, 4))
    """

    def __init__(self, in_channels: int = 4, out_channels: int = 3, base_channels: int = 32, num_levels: int = 4,
                 norm_cfg: Optional[dict] = dict(type='BN'), act_cfg: dict = dict(type='ReLU'), init_cfg=None):  # noqa: B006  (MMCV layer config: None means none; never mutated)
        super().__init__(init_cfg=init_cfg)
        if num_levels < 1:
            raise ValueError(f'num_levels must be >= 1; got {num_levels}')
        widths = [base_channels * 2 ** level for level in range(num_levels + 1)]
        self.encoder_channels = tuple(widths)
        self.decoder_channels = tuple(reversed(widths[:-1]))
        self.decoder_skip_channels = self.decoder_channels
        self.num_levels = num_levels

        self.stem = _DoubleConv(in_channels, widths[0], norm_cfg, act_cfg)
        self.down = nn.ModuleList(
            nn.Sequential(ConvModule(widths[i], widths[i + 1], 3, stride=2, padding=1, norm_cfg=norm_cfg,
                                     act_cfg=act_cfg), _DoubleConv(widths[i + 1], widths[i + 1], norm_cfg, act_cfg))
            for i in range(num_levels))
        self.reduce = nn.ModuleList(
            ConvModule(widths[i + 1], widths[i], 1, norm_cfg=None, act_cfg=None) for i in reversed(range(num_levels)))
        self.up = nn.ModuleList(
            _DoubleConv(2 * widths[i], widths[i], norm_cfg, act_cfg) for i in reversed(range(num_levels)))
        self.head = nn.Conv2d(widths[0], out_channels, 1)

    def encode(self, x: Tensor) -> list[Tensor]:
        factor = 2 ** self.num_levels
        if x.shape[-1] % factor or x.shape[-2] % factor:
            raise ValueError(f'UNet with {self.num_levels} levels needs H and W divisible by {factor}; '
                             f'got {tuple(x.shape[-2:])}')
        features = [self.stem(x)]
        for block in self.down:
            features.append(block(features[-1]))
        return features

    def decode(self, encoder_feats: list[Tensor], mask: Tensor,
               fusions: Optional[Sequence[nn.Module]] = None) -> Tensor:
        x = encoder_feats[-1]
        for level, (reduce, block) in enumerate(zip(self.reduce, self.up)):
            skip = encoder_feats[-2 - level]
            x = F.interpolate(x, size=skip.shape[-2:], mode='bilinear', align_corners=False)
            x = block(torch.cat([reduce(x), skip], dim=1))
            if fusions is not None:  # the full-resolution mask: each block resizes it its own way (RAIN: nearest)
                x = fusions[level](x, skip, mask)
        return self.head(x)
