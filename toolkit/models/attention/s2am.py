"""S²AM, spatial-separated attention (Cun & Pun, "Improving the Harmony of the Composite Image by
Spatial-Separated Attention Module", TIP 2020): a generic attention block for harmonization decoders.

Registered in ``MODELS`` so any backbone builds it from a config (``attention=dict(type='S2AM')``).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toolkit.interfaces import check_mask
from toolkit.ops import resize_mask_to
from toolkit.registry import MODELS


class _ChannelGate(nn.Module):
    """CBAM-style channel attention: avg- and max-pooled (2C) → C/16 → C → sigmoid, multiplied in."""

    def __init__(self, channels: int, reduction: int = 16):
        super().__init__()
        hidden = max(channels // reduction, 1)
        self.mlp = nn.Sequential(nn.Linear(2 * channels, hidden), nn.ReLU(inplace=True), nn.Linear(hidden, channels))

    def forward(self, x: Tensor) -> Tensor:
        pooled = torch.cat([x.mean(dim=(2, 3)), x.amax(dim=(2, 3))], dim=1)
        return x * torch.sigmoid(self.mlp(pooled))[..., None, None]


def blur_taps(size: int = 5, sigma: float = 2 ** 0.5) -> Tensor:
    """The 1-D Gaussian of the S²AM code: ``exp(−d²/(2σ²))`` for ``d = −2 … 2`` (σ = √2, i.e. ``exp(−d²/4)``),
    normalised to sum 1.

    Example:
        >>> [round(float(t), 4) for t in blur_taps()]
        [0.1117, 0.2365, 0.3036, 0.2365, 0.1117]
    """
    distance = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    taps = torch.exp(-distance ** 2 / (2 * sigma ** 2))
    return (taps / taps.sum()).float()


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
        taps = blur_taps()
        kernel = torch.outer(taps, taps)
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
