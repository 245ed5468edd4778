"""External style fusion (Liang & Pun, eqs. 1–7): the decoder foreground re-styled with the **encoder's**
background statistics."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from toolkit.interfaces import BaseFusion, check_mask
from toolkit.ops import masked_mean_std, resize_mask_to
from toolkit.registry import FUSIONS


@FUSIONS.register_module()
class StyleFusion(BaseFusion):
    """External style fusion (eqs. 1–7).

    With ``M`` the mask resized to the level (area average) and ``E``, ``D`` the encoder and decoder
    features of that level:

    * eq. 4: ``D̂_fg = (D·M − μ(E, 1−M)) / σ(E, 1−M)`` — the decoder foreground normalised with the
      **encoder's background** statistics (external guidance);
    * eq. 5: ``D̂_bg = (D·(1−M) − μ(D, 1−M)) / σ(D, 1−M)`` — the background with its own statistics;
    * eqs. 6–7: ``ψ(x) = (1 + s)·x + b`` per channel, one ``(s, b)`` pair for the foreground branch
      and one for the background branch, initialised to 0 (the paper's "initialised as 0": with a
      plain ``s·x`` a zero scale would erase the signal, so the scale is applied as ``1 + s``);
    * ``D̂ = ψ_fg(D̂_fg)·M + ψ_bg(D̂_bg)·(1 − M)`` (each branch kept in its own region before the sum).

    Masked statistics are the core's :func:`toolkit.ops.masked_mean_std`. A background smaller than
    ``min_region`` (in cells of the level; e.g. a training crop inside a large foreground) has no
    statistics worth normalising by: eq. 4 would divide by ``sqrt(eps)`` and blow the foreground up
    ~300×. There the whole map's statistics stand in (of ``E`` for eq. 4, of ``D`` for eq. 5), so the
    output keeps the scale of a normalised feature.
    """

    def __init__(self, decoder_channels: int, encoder_channels: int, eps: float = 1e-5, min_region: float = 1.0,
                 init_cfg=None):
        super().__init__(decoder_channels, encoder_channels, init_cfg=init_cfg)
        if encoder_channels != decoder_channels:
            raise ValueError(f'style fusion pairs mirrored levels of equal width; got encoder {encoder_channels} '
                             f'and decoder {decoder_channels} channels')
        self.eps, self.min_region = eps, min_region
        self.foreground_scale = nn.Parameter(torch.zeros(decoder_channels))
        self.foreground_bias = nn.Parameter(torch.zeros(decoder_channels))
        self.background_scale = nn.Parameter(torch.zeros(decoder_channels))
        self.background_bias = nn.Parameter(torch.zeros(decoder_channels))

    def forward(self, decoder_feat: Tensor, encoder_feat: Tensor, mask: Tensor) -> Tensor:
        if decoder_feat.shape != encoder_feat.shape:
            raise ValueError(f'decoder {tuple(decoder_feat.shape)} and encoder {tuple(encoder_feat.shape)} features '
                             'must have the same shape')
        check_mask(mask)
        foreground = resize_mask_to(mask.to(decoder_feat.dtype), decoder_feat.shape[-2:])
        background = 1 - foreground
        encoder_bg_mean, encoder_bg_std = self._background_statistics(encoder_feat, background)
        decoder_bg_mean, decoder_bg_std = self._background_statistics(decoder_feat, background)
        normalised_fg = (decoder_feat * foreground - encoder_bg_mean) / encoder_bg_std
        normalised_bg = (decoder_feat * background - decoder_bg_mean) / decoder_bg_std

        def psi(x, scale, bias):  # noqa: E306
            return (1 + scale.view(1, -1, 1, 1)) * x + bias.view(1, -1, 1, 1)

        return (psi(normalised_fg, self.foreground_scale, self.foreground_bias) * foreground
                + psi(normalised_bg, self.background_scale, self.background_bias) * background)

    def _background_statistics(self, features: Tensor, background: Tensor) -> tuple[Tensor, Tensor]:
        """Masked statistics, or the whole map's where the background has fewer than ``min_region`` cells."""
        mean, std = masked_mean_std(features, background, self.eps)
        too_small = (background.sum((1, 2, 3)) < self.min_region).view(-1, 1, 1, 1)
        if too_small.any():
            whole_mean, whole_std = masked_mean_std(features, None, self.eps)
            mean, std = torch.where(too_small, whole_mean, mean), torch.where(too_small, whole_std, std)
        return mean, std
