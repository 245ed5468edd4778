"""Non-learned harmonizers: copy-paste, Reinhard colour transfer in Lab, per-channel histogram matching.

They have no weights and run through ``tools/test.py CONFIG none`` exactly like learned models.
Each works on the de-normalised composite (0–255) and changes only the foreground
(``mask > 0.5``); the background is pasted back by the base class. An image whose foreground or
background is empty has nothing to transfer from or to, and comes back unchanged (statistics of an
empty region are undefined; the inference API refuses such masks before they get here).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch import Tensor

from toolkit.models.base_harmonizer import BaseHarmonizer
from toolkit.ops import lab_to_rgb, masked_mean_std, match_cumulative_cdf, rgb_to_lab
from toolkit.registry import MODELS


class _NonLearnedHarmonizer(BaseHarmonizer):
    """Runs :meth:`transfer` on 0–255 images; has no parameters and cannot be trained."""

    def __init__(self, **kwargs):
        kwargs.setdefault('losses', None)
        super().__init__(**kwargs)

    def transfer(self, images: Tensor, foreground: Tensor) -> Tensor:
        """``(B, 3, H, W)`` on 0–255 and a binary ``(B, 1, H, W)`` mask → ``(B, 3, H, W)`` on 0–255."""
        raise NotImplementedError

    def harmonize(self, composite: Tensor, mask: Tensor, references: Optional[Tensor] = None) -> Tensor:
        images = self.data_preprocessor.denormalize(composite).clamp(0, 255)
        foreground = (mask > 0.5).to(images.dtype)
        area = foreground.sum((1, 2, 3))
        both_regions = ((area > 0) & (area < foreground[0].numel()))[:, None, None, None]
        transferred = self.transfer(images, foreground)
        return self.data_preprocessor.normalize(torch.where(both_regions, transferred, images))


@MODELS.register_module()
class CopyPasteHarmonizer(_NonLearnedHarmonizer):
    """Output = composite: the "no harmonization" row."""

    def transfer(self, images: Tensor, foreground: Tensor) -> Tensor:
        return images


@MODELS.register_module()
class ReinhardHarmonizer(_NonLearnedHarmonizer):
    """Reinhard et al. (2001) colour transfer in CIELAB, from the background to the foreground.

    Per Lab channel: ``fg' = (fg − μ_fg) / σ_fg · σ_bg + μ_bg`` with population statistics over the
    foreground and background pixels; converted back to sRGB and clipped to the gamut.

    Args:
        eps: variance stabiliser in Lab units² (a flat foreground keeps its mean shift only).
    """

    def __init__(self, eps: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.eps = eps

    def transfer(self, images: Tensor, foreground: Tensor) -> Tensor:
        lab = rgb_to_lab(images.double() / 255.0)
        fg_mean, fg_std = masked_mean_std(lab, foreground.double(), self.eps)
        bg_mean, bg_std = masked_mean_std(lab, 1 - foreground.double(), self.eps)
        transferred = (lab - fg_mean) / fg_std * bg_std + bg_mean
        return (lab_to_rgb(transferred) * 255.0).to(images.dtype)


@MODELS.register_module()
class HistogramMatchingHarmonizer(_NonLearnedHarmonizer):
    """Per RGB channel, match the foreground's histogram to the background's.

    Inputs are 8-bit images, so values are rounded to integers before matching (a
    normalise/de-normalise round trip leaves ~1e-5 noise that would split equal values).
    """

    def transfer(self, images: Tensor, foreground: Tensor) -> Tensor:
        output = images.clone()
        values = torch.round(images).cpu().numpy()
        regions = foreground[:, 0].bool().cpu().numpy()
        for index in range(values.shape[0]):
            inside = regions[index]
            if inside.all() or not inside.any():
                continue  # nothing to match against, or nothing to change
            for channel in range(3):
                plane = values[index, channel]
                matched = match_cumulative_cdf(plane[inside], plane[~inside])
                output[index, channel][torch.from_numpy(inside).to(output.device)] = torch.as_tensor(
                    matched, dtype=output.dtype, device=output.device)
        return output
