"""RAIN (Ling et al., CVPR 2021) and plain AdaIN (Huang & Belongie, ICCV 2017) as toolkit fusion blocks.

They are core, not a plugin's: several method families use them (RainNet's decoder, Raiha's default decoder
norm, the region-wise contrastive network's Fig. 8–9 comparators), and a plugin never imports another plugin.

Both have the common signature ``forward(decoder_feat, encoder_feat, mask) -> decoder_feat``,
so ``fusion=dict(type='RAIN')`` or ``fusion=dict(type='AdaIN')`` drops them into any backbone's decoder.
Statistics come from the core's :func:`toolkit.ops.masked_mean_std`.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from toolkit.interfaces import BaseFusion, check_mask
from toolkit.ops import masked_mean_std, resize_mask_to
from toolkit.registry import FUSIONS


@FUSIONS.register_module()
class RAIN(BaseFusion):
    """Region-aware adaptive instance normalisation, as in the official RainNet.

    With ``m`` the mask nearest-resized to the feature and ``b = 1 − m``:

    * background: ``x̂_b = (x − μ_b) / σ_b``, ``out_b = (x̂_b·(1 + γ_b) + β_b)·b``
    * foreground, re-styled with the background's statistics:
      ``x̂_f = (x − μ_f) / σ_f · σ_b + μ_b``, ``out_f = (x̂_f·(1 + γ_f) + β_f)·m``
    * ``out = out_f + out_b``

    Region statistics: ``μ = Σ x·r / (Σ r + eps)``, ``σ = sqrt(Σ (x − μ)²·r / (Σ r + eps) + eps)``.
    The four length-``C`` vectors start at zero, so the affine part starts as the identity.
    The encoder feature is not used.

    Shapes: decoder_feat ``(B, C, h, w)``, mask ``(B, 1, H, W)`` (any size) → ``(B, C, h, w)``.

    Example:
        >>> rain = RAIN(decoder_channels=4)
        >>> x = torch.randn(2, 4, 8, 8)
        >>> mask = torch.zeros(2, 1, 32, 32); mask[..., :16, :] = 1
        >>> tuple(rain(x, None, mask).shape)
        (2, 4, 8, 8)
    """

    def __init__(self, decoder_channels: int, encoder_channels: int = 0, eps: float = 1e-5, init_cfg=None):
        super().__init__(decoder_channels, encoder_channels, init_cfg=init_cfg)
        self.eps = eps
        self.foreground_gamma = nn.Parameter(torch.zeros(decoder_channels))
        self.foreground_beta = nn.Parameter(torch.zeros(decoder_channels))
        self.background_gamma = nn.Parameter(torch.zeros(decoder_channels))
        self.background_beta = nn.Parameter(torch.zeros(decoder_channels))

    def forward(self, decoder_feat: Tensor, encoder_feat: Tensor, mask: Tensor) -> Tensor:
        if decoder_feat.ndim != 4 or decoder_feat.shape[1] != self.decoder_channels:
            raise ValueError(f'RAIN({self.decoder_channels}) expects (B, {self.decoder_channels}, h, w); '
                             f'got {tuple(decoder_feat.shape)}')
        check_mask(mask)
        foreground = resize_mask_to(mask.detach().to(decoder_feat.dtype), decoder_feat.shape[-2:], 'nearest')
        background = 1 - foreground
        fg_mean, fg_std = masked_mean_std(decoder_feat, foreground, self.eps)
        bg_mean, bg_std = masked_mean_std(decoder_feat, background, self.eps)

        def affine(name):
            return getattr(self, name).view(1, -1, 1, 1)

        normalised_bg = (decoder_feat - bg_mean) / bg_std
        out_bg = (normalised_bg * (1 + affine('background_gamma')) + affine('background_beta')) * background
        restyled_fg = (decoder_feat - fg_mean) / fg_std * bg_std + bg_mean
        out_fg = (restyled_fg * (1 + affine('foreground_gamma')) + affine('foreground_beta')) * foreground
        return out_fg + out_bg


@FUSIONS.register_module()
class AdaIN(BaseFusion):
    """Adaptive instance normalisation (Huang & Belongie): the decoder feature takes a style's statistics.

    ``out = (d − μ(d)) / σ(d) · σ(s) + μ(s)`` with per-channel statistics (unbiased variance + eps inside the
    square root, as the AdaIN helper of the S²AM / S2CRNet code the region-wise contrastive paper's ablation
    builds on). Where the style ``s`` comes from:

    * ``style='decoder-background'``: the **background region of the decoder feature itself** (the mask
      nearest-resized and binary, as RAIN does). This is the comparator of the region-wise contrastive paper's
      Figs. 8–9, which replaces style fusion with AdaIN "applied to the internal feature maps within the
      decoder", to show that *external* (encoder) guidance is what helps. No learned parameters.
    * ``style='encoder'`` (default, plain AdaIN between two feature maps): the whole encoder feature of the level
      (external guidance without regions); a 1×1 projection maps it to the decoder's width when they differ.

    Example:
        >>> adain = AdaIN(decoder_channels=3, encoder_channels=3, style='encoder')
        >>> d, e = torch.randn(1, 3, 5, 5), torch.randn(1, 3, 5, 5) * 4 + 2
        >>> out = adain(d, e, torch.ones(1, 1, 5, 5))
        >>> torch.allclose(out.mean((2, 3)), e.mean((2, 3)), atol=1e-5)
        True
    """

    STYLES = ('decoder-background', 'encoder')

    def __init__(self, decoder_channels: int, encoder_channels: int = 0, eps: float = 1e-5,
                 style: str = 'encoder', init_cfg=None):
        super().__init__(decoder_channels, encoder_channels, init_cfg=init_cfg)
        if style not in self.STYLES:
            raise ValueError(f'style must be one of {self.STYLES}; got {style!r}')
        self.eps, self.style = eps, style
        self.style_projection = (nn.Identity() if style != 'encoder' or encoder_channels == decoder_channels
                                 else nn.Conv2d(encoder_channels, decoder_channels, 1))

    def forward(self, decoder_feat: Tensor, encoder_feat: Tensor, mask: Tensor) -> Tensor:
        content_mean, content_std = masked_mean_std(decoder_feat, None, self.eps, unbiased=True)
        if self.style == 'encoder':
            if decoder_feat.shape[0] != encoder_feat.shape[0]:
                raise ValueError(f'decoder {tuple(decoder_feat.shape)} and encoder {tuple(encoder_feat.shape)} '
                                 'features differ in batch size')
            style_mean, style_std = masked_mean_std(self.style_projection(encoder_feat), None, self.eps, unbiased=True)
        else:
            check_mask(mask)
            background = 1 - resize_mask_to(mask.detach().to(decoder_feat.dtype), decoder_feat.shape[-2:], 'nearest')
            style_mean, style_std = masked_mean_std(decoder_feat, background, self.eps)
        return (decoder_feat - content_mean) / content_std * style_std + style_mean
