"""Region-wise contrastive harmonization ("Image Harmonization with Region-wise Contrastive Learning", Liang & Pun).

No official code exists; this file is the reference implementation. Where the paper is ambiguous the
reading chosen is stated next to the code and collected in ``docs/clharmony.md``.

Building blocks, then the network parts, each registered on its own so configs recombine them:

* :class:`S2AM` (``MODELS``): spatial-separated attention, applied in ResUNet up-blocks.
* :class:`ResUNet` (``BACKBONES``): residual U-Net, depth 5, width 32, 3 single-conv residual units
  per level, S²AM on the concatenated skip of chosen decoder levels.
* :class:`StyleFusion` (``FUSIONS``): external style fusion, eqs. 1–7.
* :class:`RegionContrastiveLoss` (``LOSSES``): eqs. 8–12.

The default network (``configs/clharmony``) has **28,368,503** parameters: 28,366,583 in the ResUNet
with S²AM at all four decoder levels, plus 1,920 style-fusion affine parameters; the paper reports
28.37M. The contrastive loss's projection MLP (115,200 parameters for 8×8 RGB patches) is used only
in training and is not counted there.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toolkit.interfaces import BaseBackbone, BaseFusion, BaseHarmonizationLoss, check_mask
from toolkit.ops import masked_mean_std, resize_mask_to
from toolkit.registry import BACKBONES, FUSIONS, LOSSES, MODELS

CLHARMONY_PARAMETERS = 28_368_503


# ------------------------------------------------------------------------------------------------ S²AM
class _ChannelGate(nn.Module):
    """CBAM-style channel attention: avg- and max-pooled (2C) → C/16 → C → sigmoid, multiplied in."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Linear(2 * channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return x * torch.sigmoid(self.mlp(pooled))[..., None, None]


#: 5-tap blur of the S²AM code (an exp(−d²/4) kernel, i.e. effective σ = √2), applied separably
_S2AM_TAPS = torch.tensor([0.1117, 0.2365, 0.3036, 0.2365, 0.1117])


@MODELS.register_module()
class S2AM(nn.Module):
    """Spatial-separated attention (Cun & Pun): ``bg(f)·blur(1−m) + [learn(fg(f)) + mix(f)]·blur(m)``.

    Three channel gates (background, mixed, foreground) and a learning block (3×3 conv C→2C, BN, ELU,
    3×3 conv 2C→C, BN, ELU) on the foreground branch. The mask is area-resized to the feature and
    thresholded at 0.5 (the released code rounds a sparse 2×2 sample of each cell; see the docs), then
    both region masks are blurred with a fixed 5×5 Gaussian (reflect padding).

    Shapes: ``f (B, C, h, w)``, ``mask (B, 1, H, W)`` at any resolution → ``(B, C, h, w)``.
    Parameters: ``3·(3C²/16 + 17C/16) + 36C² + 6C`` (150,348 for C = 64).
    """

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        self.channels = channels
        self.background_gate = _ChannelGate(channels, reduction)
        self.mixed_gate = _ChannelGate(channels, reduction)
        self.foreground_gate = _ChannelGate(channels, reduction)
        self.learning_block = nn.Sequential(
            nn.Conv2d(channels, 2 * channels, 3, padding=1, bias=False), nn.BatchNorm2d(2 * channels), nn.ELU(),
            nn.Conv2d(2 * channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels), nn.ELU())
        kernel = torch.outer(_S2AM_TAPS, _S2AM_TAPS)
        self.register_buffer('blur_kernel', (kernel / kernel.sum())[None, None], persistent=False)

    def _region_masks(self, mask: Tensor, size) -> tuple[Tensor, Tensor]:
        mask = mask.to(self.blur_kernel.dtype)
        if tuple(mask.shape[-2:]) != tuple(size):
            mask = (resize_mask_to(mask, size) > 0.5).to(mask.dtype)
        regions = torch.cat([mask, 1 - mask], dim=0)
        blurred = F.conv2d(F.pad(regions, (2, 2, 2, 2), mode='reflect'), self.blur_kernel)
        return blurred[:mask.shape[0]], blurred[mask.shape[0]:]

    def forward(self, f: Tensor, mask: Tensor) -> Tensor:
        check_mask(mask)
        foreground, background = self._region_masks(mask, f.shape[-2:])
        foreground, background = foreground.to(f.dtype), background.to(f.dtype)
        spliced = self.learning_block(self.foreground_gate(f)) + self.mixed_gate(f)
        return self.background_gate(f) * background + spliced * foreground


# --------------------------------------------------------------------------------------------- ResUNet
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
    ``encoder_feat``. A 1×1 conv gives the output (no activation).

    Args:
        in_channels: composite + mask = 4.
        base_channels / depth / blocks: width, levels, residual units per level.
        attention: config of the block on the concatenated skip (default ``dict(type='S2AM')``, None = off).
        attention_levels: decoder levels (0 = deepest) that get it; the paper's count needs all four.
        norm: ``'BN'`` or ``'IN'``.

    Example:
        >>> net = ResUNet(base_channels=4, depth=3, blocks=1)
        >>> net(torch.zeros(1, 4, 32, 32), torch.ones(1, 1, 32, 32)).shape
        torch.Size([1, 3, 32, 32])
        >>> net.decoder_channels, net.decoder_skip_channels
        ((8, 4), (8, 4))
    """

    def __init__(self, in_channels: int = 4, out_channels: int = 3, base_channels: int = 32, depth: int = 5,
                 blocks: int = 3, attention: Optional[dict] = dict(type='S2AM'),
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
            if fusions is not None:
                x = fusions[level](x, skip, resize_mask_to(mask, x.shape[-2:]))
        return self.head(x)


# ----------------------------------------------------------------------------------------- style fusion
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

    Masked statistics are the core's :func:`toolkit.ops.masked_mean_std`: they ignore the other
    region and stay finite (mean 0, std ``sqrt(eps)``) when a region is empty at a level.
    """

    def __init__(self, decoder_channels: int, encoder_channels: int, eps: float = 1e-5, init_cfg=None):
        super().__init__(decoder_channels, encoder_channels, init_cfg=init_cfg)
        if encoder_channels != decoder_channels:
            raise ValueError(f'style fusion pairs mirrored levels of equal width; got encoder {encoder_channels} '
                             f'and decoder {decoder_channels} channels')
        self.eps = eps
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
        encoder_bg_mean, encoder_bg_std = masked_mean_std(encoder_feat, background, self.eps)
        decoder_bg_mean, decoder_bg_std = masked_mean_std(decoder_feat, background, self.eps)
        normalised_fg = (decoder_feat * foreground - encoder_bg_mean) / encoder_bg_std
        normalised_bg = (decoder_feat * background - decoder_bg_mean) / decoder_bg_std

        def psi(x, scale, bias):
            return (1 + scale.view(1, -1, 1, 1)) * x + bias.view(1, -1, 1, 1)

        return (psi(normalised_fg, self.foreground_scale, self.foreground_bias) * foreground
                + psi(normalised_bg, self.background_scale, self.background_bias) * background)


# --------------------------------------------------------------------------------- contrastive loss
@LOSSES.register_module()
class RegionContrastiveLoss(BaseHarmonizationLoss):
    """Region-wise contrastive loss L_HCL (eqs. 8–12).

    1. Sampling maps (eqs. 8–9): ``S_fg = avgpool_4(H·M)`` from the prediction ``H`` and
       ``S_bg = avgpool_4(Ĥ·(1−M))`` from the target ``Ĥ`` (H/4 × W/4; each cell is a 4×4 region).
       A location belongs to a region when at least half of its cell does.
    2. ``K`` locations drawn per image in each region; the 8×8 patch of the sampling map around each
       (zero outside the map) is flattened and embedded by a shared two-layer MLP, L2-normalised:
       negatives ``N_k`` from the foreground of ``H``, positives ``P_i`` from the background of ``Ĥ``.
    3. eq. 11 with the harmonized foreground patch ``N_i`` as the query for both terms
       (``v^fg = v^bg = N_i``): ``L = 1/K Σ_i −log(e^{N_i·P_i/τ} / (e^{N_i·P_i/τ} + Σ_k e^{N_i·N_k/τ}))``,
       τ = 0.07, so the harmonized foreground is pulled towards the real background's style.
    4. eq. 12: averaged over the batch. An image whose foreground or background has no location
       contributes 0 (no NaN); a region with fewer than ``K`` locations is sampled with replacement.

    Vectorised: patches come from one ``unfold`` and a gather; no Python loop over patches or images.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss_hcl', num_patches: int = 256,
                 patch_size: int = 8, downsample: int = 4, temperature: float = 0.07, embed_dim: int = 256,
                 in_channels: int = 3):
        super().__init__(loss_weight, loss_name)
        self.num_patches, self.patch_size, self.downsample = num_patches, patch_size, downsample
        self.temperature = temperature
        in_features = in_channels * patch_size * patch_size
        self.mlp = nn.Sequential(nn.Linear(in_features, embed_dim), nn.ReLU(inplace=True),
                                 nn.Linear(embed_dim, embed_dim))

    def sampling_maps(self, image: Tensor, region: Tensor) -> tuple[Tensor, Tensor]:
        """``avgpool(image·region)`` and the locations (≥ half the cell in the region)."""
        factor = self.downsample
        return F.avg_pool2d(image * region, factor), F.avg_pool2d(region, factor)[:, 0] >= 0.5

    def sample_locations(self, valid: Tensor, generator: Optional[torch.Generator] = None) -> Tensor:
        """``(B, K)`` flat indices of locations; without replacement when a region has ≥ K of them."""
        weights = valid.flatten(1).to(torch.float32)
        counts = weights.sum(1)
        safe = torch.where(counts[:, None] > 0, weights, torch.ones_like(weights))
        enough = counts >= self.num_patches
        indices = torch.empty(weights.shape[0], self.num_patches, dtype=torch.long, device=weights.device)
        if enough.any():
            indices[enough] = torch.multinomial(safe[enough], self.num_patches, replacement=False, generator=generator)
        if (~enough).any():
            indices[~enough] = torch.multinomial(safe[~enough], self.num_patches, replacement=True, generator=generator)
        return indices

    def embed(self, sampling_map: Tensor, indices: Tensor) -> Tensor:
        """8×8 patches of ``(B, C, h, w)`` around flat ``indices (B, K)`` → ``(B, K, D)`` unit vectors."""
        size = self.patch_size
        padded = F.pad(sampling_map, (size // 2, size - 1 - size // 2, size // 2, size - 1 - size // 2))
        patches = F.unfold(padded, size)  # (B, C·size², h·w): one column per location
        gathered = torch.gather(patches, 2, indices[:, None, :].expand(-1, patches.shape[1], -1))
        return F.normalize(self.mlp(gathered.transpose(1, 2)), dim=-1)

    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> Tensor:
        if pred.shape[-1] % self.downsample or pred.shape[-2] % self.downsample:
            raise ValueError(f'H and W must be divisible by {self.downsample}; got {tuple(pred.shape[-2:])}')
        foreground = mask.to(pred.dtype)
        fg_map, fg_valid = self.sampling_maps(pred, foreground)
        bg_map, bg_valid = self.sampling_maps(target, 1 - foreground)
        negatives = self.embed(fg_map, self.sample_locations(fg_valid, generator))  # (B, K, D)
        positives = self.embed(bg_map, self.sample_locations(bg_valid, generator))
        positive_logits = (negatives * positives).sum(-1, keepdim=True) / self.temperature  # (B, K, 1)
        negative_logits = negatives @ negatives.transpose(1, 2) / self.temperature  # (B, K, K)
        logits = torch.cat([positive_logits, negative_logits], dim=2)
        per_image = -torch.log_softmax(logits, dim=2)[..., 0].mean(1)  # eq. 11 per image
        usable = (fg_valid.flatten(1).any(1) & bg_valid.flatten(1).any(1)).to(per_image.dtype)
        return self.loss_weight * (per_image * usable).sum() / pred.shape[0]  # eq. 12; empty regions add 0
