"""Region-to-region colour transfer: the non-learned harmonizers' arithmetic, usable without any model stack.

Each function takes ``images (B, 3, H, W)`` on 0–255 and a binary ``foreground (B, 1, H, W)`` and returns the
images with the foreground's colours moved towards the background's (the background is returned as it was).
An image whose foreground or background is empty has nothing to transfer from or to and comes back unchanged.
The baselines plugin's harmonizers call these, and so does the inference API's light path for those models
(``harmony harmonize --model reinhard-lab`` starts without MMEngine's model stack).
"""
from __future__ import annotations

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


def reinhard_lab(images: Tensor, foreground: Tensor, eps: float = 1e-6) -> Tensor:
    """Reinhard et al. (2001) in CIELAB: per channel ``fg' = (fg − μ_fg) / σ_fg · σ_bg + μ_bg`` (population
    statistics of each region), back to sRGB and clipped to the gamut.

    Example:
        >>> images = torch.zeros(1, 3, 2, 2); images[..., 0, :] = 200.0   # top row: foreground
        >>> out = reinhard_lab(images, (images[:, :1] > 0).float())
        >>> out[0, :, 0].round().tolist() == images[0, :, 1].tolist()      # takes the background's colour
        True
    """
    lab = rgb_to_lab(images.double() / 255.0)
    fg_mean, fg_std = masked_mean_std(lab, foreground.double(), eps)
    bg_mean, bg_std = masked_mean_std(lab, 1 - foreground.double(), eps)
    transferred = (lab_to_rgb((lab - fg_mean) / fg_std * bg_std + bg_mean) * 255.0).to(images.dtype)
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
