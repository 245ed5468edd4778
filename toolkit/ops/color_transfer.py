"""Region-to-region colour transfer: the non-learned harmonizers' arithmetic, usable without any model stack.

Each function takes ``images (B, 3, H, W)`` on 0–255 and a binary ``foreground (B, 1, H, W)`` and returns the
images with the foreground's colours moved towards the background's (the background is returned as it was).
An image whose foreground or background is empty has nothing to transfer from or to and comes back unchanged.
The baselines plugin's harmonizers call these, and so does the inference API's light path for those models
(``harmony harmonize --model reinhard-lab`` starts without MMEngine's model stack).
"""
from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from .color import lab_to_rgb, rgb_to_lab
from .histogram import match_cumulative_cdf
from .masked_stats import masked_mean_std


def _both_regions(foreground: Tensor) -> Tensor:
    area = foreground.sum((1, 2, 3))
    return ((area > 0) & (area < foreground[0].numel()))[:, None, None, None]


def copy_paste(images: Tensor, foreground: Tensor) -> Tensor:
    """No harmonization: the composite itself."""
    return images


def lab_statistics(images: Tensor, region: Optional[Tensor] = None, eps: float = 1e-6) -> tuple[Tensor, Tensor]:
    """CIELAB mean and standard deviation ``(B, 3, 1, 1)`` of ``images (B, 3, H, W)`` on 0–255 over ``region``
    (``(B, 1, H, W)`` weights; ``None`` = the whole image), population statistics."""
    return masked_mean_std(rgb_to_lab(images.double() / 255.0), None if region is None else region.double(), eps)


def transfer_lab_statistics(images: Tensor, foreground: Tensor, target_mean: Tensor, target_std: Tensor,
                            strength: float = 1.0, eps: float = 1e-6) -> Tensor:
    """Reinhard et al. (2001) in CIELAB: ``lab' = (lab − μ_fg) / σ_fg · σ_t + μ_t`` with the foreground's
    statistics ``μ_fg, σ_fg`` and target ones (``(B, 3, 1, 1)``, e.g. :func:`lab_statistics` of the background or
    of another photo), blended with the original by ``strength`` in [0, 1], back to sRGB, clipped to the gamut.

    Every pixel is mapped (callers keep it where it belongs). One implementation for the Reinhard harmonizer
    (:func:`reinhard_lab`) and the synthetic composites' colour-transfer perturbations.

    Returns:
        ``(B, 3, H, W)`` on 0–255, ``images``' dtype.
    """
    lab = rgb_to_lab(images.double() / 255.0)
    fg_mean, fg_std = masked_mean_std(lab, foreground.double(), eps)
    transferred = (lab - fg_mean) / fg_std * target_std.double() + target_mean.double()
    if strength != 1.0:
        transferred = strength * transferred + (1.0 - strength) * lab
    return (lab_to_rgb(transferred) * 255.0).to(images.dtype)


def reinhard_lab(images: Tensor, foreground: Tensor, eps: float = 1e-6) -> Tensor:
    """Reinhard et al. (2001) in CIELAB: per channel ``fg' = (fg − μ_fg) / σ_fg · σ_bg + μ_bg`` (population
    statistics of each region), back to sRGB and clipped to the gamut.

    Example:
        >>> images = torch.zeros(1, 3, 2, 2); images[..., 0, :] = 200.0   # top row: foreground
        >>> out = reinhard_lab(images, (images[:, :1] > 0).float())
        >>> out[0, :, 0].round().tolist() == images[0, :, 1].tolist()      # takes the background's colour
        True
    """
    background_mean, background_std = lab_statistics(images, 1 - foreground.double(), eps)
    transferred = transfer_lab_statistics(images, foreground, background_mean, background_std, eps=eps)
    return torch.where(_both_regions(foreground), transferred, images)


def histogram_matching(images: Tensor, foreground: Tensor) -> Tensor:
    """Per RGB channel, the foreground's histogram matched to the background's. Values are rounded to integers
    first (inputs are 8-bit; a normalisation round trip leaves ~1e-5 noise that would split equal values)."""
    output = images.clone()
    values = torch.round(images).cpu().numpy()
    regions = foreground[:, 0].bool().cpu().numpy()
    for index in range(values.shape[0]):
        inside = regions[index]
        if inside.all() or not inside.any():
            continue  # nothing to match against, or nothing to change
        where = torch.from_numpy(inside).to(output.device)
        for channel in range(3):
            plane = values[index, channel]
            output[index, channel][where] = torch.as_tensor(match_cumulative_cdf(plane[inside], plane[~inside]),
                                                            dtype=output.dtype, device=output.device)
    return output
