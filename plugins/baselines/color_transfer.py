"""Non-learned harmonizers: copy-paste, Reinhard colour transfer in Lab, per-channel histogram matching.

They have no weights and run through ``tools/test.py CONFIG none`` exactly like learned models.
Each works on the de-normalised composite (0–255) and changes only the foreground
(``mask > 0.5``); the background is pasted back by the base class. An image whose foreground or
background is empty has nothing to transfer from or to, and comes back unchanged (statistics of an
empty region are undefined; the inference API refuses such masks before they get here).
"""
from __future__ import annotations

from typing import Optional

from torch import Tensor

from toolkit.models.base_harmonizer import BaseHarmonizer
from toolkit.ops.color_transfer import copy_paste, histogram_matching, reinhard_lab
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
        return self.data_preprocessor.normalize(self.transfer(images, foreground))


@MODELS.register_module()
class CopyPasteHarmonizer(_NonLearnedHarmonizer):
    """Output = composite: the "no harmonization" row."""

    def transfer(self, images: Tensor, foreground: Tensor) -> Tensor:
        return copy_paste(images, foreground)


@MODELS.register_module()
class ReinhardHarmonizer(_NonLearnedHarmonizer):
    """Reinhard et al. (2001) colour transfer in CIELAB, from the background to the foreground
    (:func:`toolkit.ops.color_transfer.reinhard_lab`).

    Args:
        eps: variance stabiliser in Lab units² (a flat foreground keeps its mean shift only).
    """

    def __init__(self, eps: float = 1e-6, **kwargs):
        super().__init__(**kwargs)
        self.eps = eps

    def transfer(self, images: Tensor, foreground: Tensor) -> Tensor:
        return reinhard_lab(images, foreground, self.eps)


@MODELS.register_module()
class HistogramMatchingHarmonizer(_NonLearnedHarmonizer):
    """Per RGB channel, match the foreground's histogram to the background's
    (:func:`toolkit.ops.color_transfer.histogram_matching`)."""

    def transfer(self, images: Tensor, foreground: Tensor) -> Tensor:
        return histogram_matching(images, foreground)
