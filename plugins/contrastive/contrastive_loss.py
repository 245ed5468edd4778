"""Region-wise contrastive loss L_HCL (Liang & Pun, eqs. 8–12)."""
from __future__ import annotations

from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toolkit.interfaces import BaseHarmonizationLoss
from toolkit.ops import float32_op
from toolkit.registry import LOSSES


@LOSSES.register_module()
class RegionContrastiveLoss(BaseHarmonizationLoss):
    """Region-wise contrastive loss L_HCL (eqs. 8–12).

    1. Sampling maps (eqs. 8–9): ``S_fg = avgpool_4(H·M)`` from the prediction ``H`` and
       ``S_bg = avgpool_4(Ĥ·(1−M))`` from the target ``Ĥ`` (H/4 × W/4; each cell is a 4×4 region).
       A location belongs to a region when at least half of its cell does.
    2. ``K`` locations drawn per image in each region; the 8×8 patch of the sampling map around each
       (zero outside the map) is flattened and embedded by a shared two-layer MLP (initialised N(0, 0.02)
       as CUT's projection head), L2-normalised: negatives ``N_k`` from the foreground of ``H``,
       positives ``P_i`` from the background of ``Ĥ``.
    3. eq. 11 with the harmonized foreground patch ``N_i`` as the query for both terms
       (``v^fg = v^bg = N_i``): ``L = 1/K Σ_i −log(e^{N_i·P_i/τ} / (e^{N_i·P_i/τ} + Σ_{k≠i} e^{N_i·N_k/τ}))``,
       τ = 0.07, so the harmonized foreground is pulled towards the real background's style. The query
       is not its own negative (``k = i`` is left out, as CUT and SimCLR do; with it, ``1/τ`` sat in every
       denominator and the loss could never go below ``log 2``), nor is a patch drawn twice from the same
       location when a small region is sampled with replacement.
    4. eq. 12: averaged over the batch. An image whose foreground or background has no location
       contributes 0 (no NaN); a region with fewer than ``K`` locations is sampled with replacement.

    Vectorised: the ``K`` patches are gathered straight from the sampling map (no ``unfold`` of all
    ``h·w`` columns to keep ``K``); no Python loop over patches or images.
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
        for layer in self.mlp:  # CUT's projection head: weights N(0, 0.02), biases 0
            if isinstance(layer, nn.Linear):
                nn.init.normal_(layer.weight, 0.0, 0.02)
                nn.init.zeros_(layer.bias)

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

    def patches(self, sampling_map: Tensor, indices: Tensor) -> Tensor:
        """The ``size×size`` patches of ``(B, C, h, w)`` around flat ``indices (B, K)`` → ``(B, K, C·size²)``,
        zero outside the map, flattened channel-major as ``F.unfold`` orders them."""
        size = self.patch_size
        batch, channels, height, width = sampling_map.shape
        before = size // 2
        padded = F.pad(sampling_map, (before, size - 1 - before, before, size - 1 - before))
        padded_width = width + size - 1
        rows, cols = indices // width, indices % width  # top-left corner of each patch in the padded map
        offsets = (torch.arange(size, device=indices.device)[:, None] * padded_width
                   + torch.arange(size, device=indices.device)[None, :]).flatten()  # (size²,)
        positions = (rows * padded_width + cols)[:, :, None] + offsets  # (B, K, size²)
        flat = padded.flatten(2)  # (B, C, Hp·Wp)
        gathered = torch.gather(flat, 2, positions.flatten(1)[:, None, :].expand(-1, channels, -1))
        return gathered.view(batch, channels, -1, size * size).permute(0, 2, 1, 3).reshape(batch, -1,
                                                                                          channels * size * size)

    def embed(self, sampling_map: Tensor, indices: Tensor) -> Tensor:
        """8×8 patches of ``(B, C, h, w)`` around flat ``indices (B, K)`` → ``(B, K, D)`` unit vectors."""
        return F.normalize(self.mlp(self.patches(sampling_map, indices)), dim=-1)

    @float32_op  # embeddings, cosine logits / 0.07 and the softmax lose too much in bfloat16/float16
    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None,
                generator: Optional[torch.Generator] = None) -> Tensor:
        if pred.shape[-1] % self.downsample or pred.shape[-2] % self.downsample:
            raise ValueError(f'H and W must be divisible by {self.downsample}; got {tuple(pred.shape[-2:])}')
        foreground = mask.to(pred.dtype)
        fg_map, fg_valid = self.sampling_maps(pred, foreground)
        bg_map, bg_valid = self.sampling_maps(target, 1 - foreground)
        fg_locations = self.sample_locations(fg_valid, generator)
        negatives = self.embed(fg_map, fg_locations)  # (B, K, D)
        positives = self.embed(bg_map, self.sample_locations(bg_valid, generator))
        positive_logits = (negatives * positives).sum(-1, keepdim=True) / self.temperature  # (B, K, 1)
        negative_logits = negatives @ negatives.transpose(1, 2) / self.temperature  # (B, K, K)
        # the query itself (k = i) and copies of its location are not negatives
        same_location = fg_locations[:, :, None] == fg_locations[:, None, :]
        negative_logits = negative_logits.masked_fill(same_location, float('-inf'))
        logits = torch.cat([positive_logits, negative_logits], dim=2)
        per_image = -torch.log_softmax(logits, dim=2)[..., 0].mean(1)  # eq. 11 per image
        usable = (fg_valid.flatten(1).any(1) & bg_valid.flatten(1).any(1)).to(per_image.dtype)
        return self.loss_weight * (per_image * usable).sum() / pred.shape[0]  # eq. 12; empty regions add 0
