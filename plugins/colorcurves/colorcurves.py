"""Colour-curve harmonization: predict one global colour transform for the foreground, apply it at any size.

Why this design. Almost every composite in the harmonization benchmarks was made by a *global* change
of the foreground's colours (iHarmony4: colour transfer between objects for HCOCO/HFlickr, another
expert's retouch for HAdobe5k), so undoing it needs a global map, not a per-pixel image. A network
that predicts the *parameters* of such a map (as white-box harmonizers do, e.g. Ke et al.'s
Harmonizer, and PCT-Net's parametric transforms) has three properties a default model needs:

* **any resolution, exactly**: the map predicted from a 256×256 view is applied to the full-resolution
  pixels, so textures are untouched and nothing is up-sampled;
* **bounded failure**: the worst output is a wrong colour grade of the object, never blotches, halos
  or invented texture;
* **small and fast**: ~0.4 M parameters; a 16-megapixel image costs one 3×3 matrix and three curve
  look-ups per pixel.

The transform (per image, for the foreground only):

``y = A·x + b`` (3×3 colour matrix and offset, identity at initialisation), then per channel a monotone
piecewise-linear tone curve ``z_c = curve_c(y_c)`` through ``K + 1`` evenly spaced knots on [0, 1]
(slopes kept positive by a softplus, so the curve never inverts tones; linear extension outside
[0, 1]), clipped to [0, 1]. Inputs and outputs are sRGB in [0, 1].

The parameters come from an MLP over (a) mask-pooled foreground and background features of a small
strided CNN on ``cat(composite, mask)`` and (b) exact colour statistics: per-channel means, standard
deviations and soft histograms of foreground and background. The last layer starts at zero, so an
untrained model is the identity (copy-paste), never worse than the input by construction of its start.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmengine.logging import print_log
from torch import Tensor, nn

from toolkit.models.base_harmonizer import BaseHarmonizer
from toolkit.ops import affine_levels, levels_matrix
from toolkit.registry import MODELS


# ----------------------------------------------------------------------------------------- the transform
class AffineCurveTransform:
    """One colour transform per image: ``z = curve(A·x + b)``, applied to ``(B, 3, H, W)`` images in [0, 1].

    Args:
        matrix: ``(B, 3, 3)``; offset ``(B, 3)``; knots ``(B, 3, K + 1)`` curve values at ``0, 1/K, …, 1``
            (non-decreasing).

    Example:
        >>> identity = AffineCurveTransform.identity(batch=1, segments=4)
        >>> x = torch.rand(1, 3, 5, 7)
        >>> torch.allclose(identity(x), x, atol=1e-6)
        True
    """

    def __init__(self, matrix: Tensor, offset: Tensor, knots: Tensor):
        if matrix.shape[1:] != (3, 3) or offset.shape[1:] != (3,) or knots.ndim != 3 or knots.shape[1] != 3:
            raise ValueError(f'expected matrix (B, 3, 3), offset (B, 3), knots (B, 3, K + 1); got '
                             f'{tuple(matrix.shape)}, {tuple(offset.shape)}, {tuple(knots.shape)}')
        self.matrix, self.offset, self.knots = matrix, offset, knots

    @classmethod
    def identity(cls, batch: int = 1, segments: int = 16, dtype=torch.float32, device=None) -> 'AffineCurveTransform':
        eye = torch.eye(3, dtype=dtype, device=device).expand(batch, 3, 3)
        knots = torch.linspace(0, 1, segments + 1, dtype=dtype, device=device).expand(batch, 3, segments + 1)
        return cls(eye, torch.zeros(batch, 3, dtype=dtype, device=device), knots)

    @property
    def segments(self) -> int:
        return self.knots.shape[-1] - 1

    def to(self, *args, **kwargs) -> 'AffineCurveTransform':
        return AffineCurveTransform(self.matrix.to(*args, **kwargs), self.offset.to(*args, **kwargs),
                                    self.knots.to(*args, **kwargs))

    def select(self, index: int) -> 'AffineCurveTransform':
        """The transform of one image of the batch (batch of 1)."""
        return AffineCurveTransform(self.matrix[index:index + 1], self.offset[index:index + 1],
                                    self.knots[index:index + 1])

    def __call__(self, images: Tensor) -> Tensor:
        """``(B, 3, H, W)`` in [0, 1] → ``(B, 3, H, W)`` in [0, 1] (same dtype as the parameters)."""
        if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] != self.matrix.shape[0]:
            raise ValueError(f'images must be (B={self.matrix.shape[0]}, 3, H, W); got {tuple(images.shape)}')
        images = images.to(self.matrix.dtype)
        mixed = torch.einsum('bci,bihw->bchw', self.matrix, images) + self.offset[:, :, None, None]
        return self.curve(mixed).clamp(0, 1)

    def apply_levels(self, pixels: np.ndarray) -> np.ndarray:
        """The transform of a one-image batch applied to ``(h, w, 3)`` pixels on 0–255 (uint8 or float):
        ``(h, w, 3)`` float32 on 0–255, unclipped (the full-resolution path of :class:`~toolkit.apis.Harmonizer`).

        Whole-band NumPy/OpenCV operations: one ``cv2.transform`` for ``A·x + b``, then per channel the curve
        segment of each value and its linear formula (the same function as :meth:`__call__`, in float32).

        Example:
            >>> transform = AffineCurveTransform.identity(segments=4)
            >>> pixels = np.arange(12, dtype=np.uint8).reshape(2, 2, 3) * 20
            >>> np.allclose(transform.apply_levels(pixels), pixels, atol=1e-3)
            True
        """
        if self.matrix.shape[0] != 1:
            raise ValueError(f'apply_levels takes the transform of one image; this one has {self.matrix.shape[0]} '
                             '(use select(index))')
        segments = self.segments
        knots = self.knots[0].detach().double().cpu().numpy()  # (3, K + 1) on [0, 1]
        # on 0–255 levels: y = A·x + 255·b; on segment k, curve(y) = 255·knots[k] + slope_k·(y − 255·k/K)
        slopes = (knots[:, 1:] - knots[:, :-1]) * segments
        intercepts = 255.0 * knots[:, :-1] - slopes * (255.0 * np.arange(segments) / segments)
        mixed = affine_levels(pixels, levels_matrix(self.matrix[0], self.offset[0]))
        segment = mixed * np.float32(segments / 255.0)
        np.clip(segment, 0, segments - 1, out=segment)
        segment = segment.astype(np.intp)  # floor, as the values are ≥ 0 now
        for channel in range(3):
            index = segment[..., channel]
            values = mixed[..., channel]
            values *= slopes[channel].astype(np.float32)[index]
            values += intercepts[channel].astype(np.float32)[index]
        return mixed

    def curve(self, values: Tensor) -> Tensor:
        """Per-channel piecewise-linear curve through the knots, extended linearly outside [0, 1]."""
        segments = self.segments
        batch, channels = values.shape[:2]
        scaled = values * segments
        index = scaled.floor().clamp(0, segments - 1)
        fraction = scaled - index  # outside [0, 1] this extends the end segments linearly
        flat_index = index.long().view(batch, channels, -1)
        low = torch.gather(self.knots, 2, flat_index).view_as(values)
        high = torch.gather(self.knots, 2, flat_index + 1).view_as(values)
        return low + fraction * (high - low)


# ------------------------------------------------------------------------------------------ features
def masked_soft_histogram(images: Tensor, weights: Tensor, bins: int) -> Tensor:
    """Per-channel histograms with triangular (linear) bin assignment, weighted by ``weights``.

    Args:
        images: ``(B, C, H, W)`` in [0, 1]; weights: ``(B, 1, H, W)`` ≥ 0.

    Returns:
        ``(B, C, bins)``, each histogram summing to 1 (uniform when the weights are all zero).

    Example:
        >>> image = torch.tensor([0.0, 0.5, 1.0]).view(1, 1, 1, 3)
        >>> masked_soft_histogram(image, torch.ones(1, 1, 1, 3), bins=3)
        tensor([[[0.3333, 0.3333, 0.3333]]])
    """
    centres = torch.linspace(0, 1, bins, dtype=images.dtype, device=images.device).view(1, 1, bins, 1)
    flat = images.flatten(2).unsqueeze(2)  # (B, C, 1, N)
    assignment = (1 - (flat - centres).abs() * (bins - 1)).clamp_min(0)  # (B, C, bins, N)
    histogram = (assignment * weights.flatten(2).unsqueeze(1)).sum(-1)
    total = histogram.sum(-1, keepdim=True)
    return torch.where(total > 0, histogram / total.clamp_min(1e-12), torch.full_like(histogram, 1.0 / bins))


def _masked_moments(images: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and standard deviation ``(B, C)`` of ``images`` under ``weights`` (zeros where the weights are empty)."""
    total = weights.sum((2, 3)).clamp_min(1e-6)
    mean = (images * weights).sum((2, 3)) / total
    variance = (((images - mean[..., None, None]) ** 2) * weights).sum((2, 3)) / total
    return mean, variance.clamp_min(0).sqrt()


def _statistics_grid(images: Tensor, mask: Tensor, size: int) -> tuple[Tensor, Tensor]:
    """The ``size``² area-downsampled copy of images and mask the colour statistics are computed on (statistics,
    not detail); smaller inputs are used as they are."""
    small = F.adaptive_avg_pool2d(images, size) if images.shape[-1] > size or images.shape[-2] > size else images
    return small, F.adaptive_avg_pool2d(mask, small.shape[-2:])


def _region_statistics(images: Tensor, regions: Sequence[Tensor], bins: int) -> list[Tensor]:
    """Per region (``(B, 1, H, W)`` weights): per-channel mean, standard deviation and soft histogram."""
    features = []
    for weights in regions:
        mean, std = _masked_moments(images, weights)
        features += [mean, std, masked_soft_histogram(images, weights, bins).flatten(1)]
    return features


def color_statistics(images: Tensor, mask: Tensor, bins: int = 16, size: int = 64) -> Tensor:
    """Exact colour statistics of foreground and background: ``(B, 2·3·(2 + bins) + 2)``.

    Means, standard deviations and soft histograms per RGB channel for the foreground (``mask``) and
    the background (``1 − mask``), plus the two area fractions; computed on a ``size``² area-downsampled
    copy (statistics, not detail).
    """
    small, small_mask = _statistics_grid(images, mask, size)
    features = _region_statistics(small, (small_mask, 1 - small_mask), bins)
    features.append(torch.stack([small_mask.mean((1, 2, 3)), 1 - small_mask.mean((1, 2, 3))], 1))
    return torch.cat(features, 1)


def boundary_bands(mask: Tensor, width: int) -> tuple[Tensor, Tensor]:
    """The soft bands either side of the mask's edge: ``(inner, outer)``, each ``(B, 1, H, W)`` in [0, 1].

    ``inner = mask − erode(mask)`` and ``outer = dilate(mask) − mask`` with a ``(2·width + 1)²`` square
    (grey-level morphology: max pooling). The image border is not an edge: a foreground touching it has
    no band there.

    Example:
        >>> mask = torch.zeros(1, 1, 8, 8); mask[..., 2:6, 2:6] = 1
        >>> inner, outer = boundary_bands(mask, width=1)
        >>> int(inner.sum()), int(outer.sum())  # 16 − 2² and 6² − 16
        (12, 20)
    """
    if mask.ndim != 4 or mask.shape[1] != 1:
        raise ValueError(f'mask must be (B, 1, H, W); got {tuple(mask.shape)}')
    if width < 1:
        raise ValueError(f'width must be at least 1; got {width}')
    kernel = 2 * width + 1
    dilated = F.max_pool2d(mask, kernel, stride=1, padding=width)
    # max pooling pads with −inf, so outside the image counts as neither foreground nor background
    eroded = 1 - F.max_pool2d(1 - mask, kernel, stride=1, padding=width)
    return (mask - eroded).clamp_min(0), (dilated - mask).clamp_min(0)


def boundary_statistics(images: Tensor, mask: Tensor, width: int = 2, bins: int = 16, size: int = 64) -> Tensor:
    """Colour statistics of the bands either side of the mask's edge: ``(B, 2·3·(2 + bins))``.

    Why: whole-region statistics cannot tell a foreground that fits its scene from one pasted with another
    colour cast (a red object on a green lawn is either); at the edge the two regions meet, and a pasted
    object's cast shows as a jump that a fitting one does not have. Per RGB channel, mean, standard deviation
    and soft histogram of the inner band, then of the outer band (:func:`boundary_bands`, ``width`` pixels of the
    ``size``² area-downsampled copy that :func:`color_statistics` uses).
    """
    small, small_mask = _statistics_grid(images, mask, size)
    return torch.cat(_region_statistics(small, boundary_bands(small_mask, width), bins), 1)


class _MaskedPooling(nn.Module):
    """Foreground and background averages of a feature map: ``(B, C, h, w)`` → ``(B, 2C)``."""

    def forward(self, features: Tensor, mask: Tensor) -> Tensor:
        weights = F.adaptive_avg_pool2d(mask, features.shape[-2:])
        pooled = []
        for region in (weights, 1 - weights):
            pooled.append((features * region).sum((2, 3)) / region.sum((2, 3)).clamp_min(1e-6))
        return torch.cat(pooled, 1)


# ----------------------------------------------------------------------------------------------- model
@MODELS.register_module()
class ColorCurveHarmonizer(BaseHarmonizer):
    """Predict an :class:`AffineCurveTransform` per image and apply it to the foreground.

    Args:
        channels: widths of the strided CNN (each level halves the resolution).
        hidden: width of the MLP.
        segments: curve segments ``K``.
        histogram_bins: bins of the colour histograms fed to the MLP.
        pool_levels: how many of the deepest CNN levels are mask-pooled into the MLP input.
        boundary_width: when > 0, the MLP also reads :func:`boundary_statistics` (bands of this many pixels of
            the 64² statistics grid either side of the mask's edge); 0 = whole-region statistics only. Weights
            trained without them load into a model with them (warm start): the new inputs start with zero
            weight, so the loaded model computes exactly what it did.

    Shapes:
        ``composite (B, 3, H, W)`` normalised, ``mask (B, 1, H, W)`` → ``(B, 3, H, W)`` normalised. Any
        ``H×W`` works (the CNN pools); train and predict at 256 as the field does.

    Example:
        >>> model = ColorCurveHarmonizer(channels=(4, 8), hidden=8, losses=dict(type='ForegroundMSELoss'))
        >>> composite, mask = torch.rand(2, 3, 32, 32) * 2 - 1, (torch.rand(2, 1, 32, 32) > 0.5).float()
        >>> out = model(dict(composite=composite, mask=mask))
        >>> torch.allclose(out, composite, atol=1e-5)  # an untrained model is the identity
        True
    """

    def __init__(self, channels: Sequence[int] = (16, 32, 64, 96, 128), hidden: int = 256, segments: int = 16,
                 histogram_bins: int = 16, pool_levels: int = 2, boundary_width: int = 0,
                 norm_cfg: Optional[dict] = dict(type='BN'),  # noqa: B006  (MMCV layer config: None means none; never mutated)
                 **kwargs):
        super().__init__(**kwargs)
        if not 1 <= pool_levels <= len(channels):
            raise ValueError(f'pool_levels must be in 1..{len(channels)}; got {pool_levels}')
        if boundary_width < 0:
            raise ValueError(f'boundary_width must be ≥ 0 (0 = no boundary-band inputs); got {boundary_width}')
        self.segments, self.histogram_bins, self.pool_levels = segments, histogram_bins, pool_levels
        self.boundary_width = boundary_width
        widths = [4, *channels]
        self.encoder = nn.ModuleList(
            ConvModule(widths[i], widths[i + 1], 3, stride=2, padding=1, norm_cfg=norm_cfg, act_cfg=dict(type='ReLU'))
            for i in range(len(channels)))
        self.pool = _MaskedPooling()
        statistics = 2 * 3 * (2 + histogram_bins) + 2
        pooled = 2 * sum(channels[-pool_levels:])
        self._inputs_without_bands = pooled + statistics
        band_inputs = 2 * 3 * (2 + histogram_bins) if boundary_width else 0
        self.head = nn.Sequential(nn.Linear(pooled + statistics + band_inputs, hidden), nn.ReLU(inplace=True),
                                  nn.Linear(hidden, hidden), nn.ReLU(inplace=True),
                                  nn.Linear(hidden, 12 + 3 * (segments + 1)))
        nn.init.zeros_(self.head[-1].weight)
        nn.init.zeros_(self.head[-1].bias)
        self.register_load_state_dict_pre_hook(self._widen_for_boundary_inputs)

    def _widen_for_boundary_inputs(self, module, state_dict, prefix, *args) -> None:
        """Warm start from weights trained without boundary-band inputs: give the new inputs zero weight."""
        key = prefix + 'head.0.weight'
        weight = state_dict.get(key)
        expected = self.head[0].weight
        if (weight is None or not self.boundary_width or weight.ndim != 2 or weight.shape[0] != expected.shape[0]
                or weight.shape[1] != self._inputs_without_bands or expected.shape[1] == weight.shape[1]):
            return
        extra = weight.new_zeros(weight.shape[0], expected.shape[1] - weight.shape[1])
        state_dict[key] = torch.cat([weight, extra], 1)
        print_log(f'{key}: weights without boundary-band inputs; the {extra.shape[1]} new inputs start at zero '
                  'weight (the loaded model is unchanged)', logger='current')

    # -- parameters ---------------------------------------------------------------------------------
    def _to_unit(self, images: Tensor) -> Tensor:
        return (self.data_preprocessor.denormalize(images) / 255.0).clamp(0, 1)

    def predict_transform(self, composite: Tensor, mask: Tensor) -> AffineCurveTransform:
        """``(B, 3, H, W)`` normalised composite and ``(B, 1, H, W)`` mask → the per-image transforms."""
        unit = self._to_unit(composite)
        features, x = [], torch.cat([composite, mask], 1)
        for layer in self.encoder:
            x = layer(x)
            features.append(x)
        pooled = [self.pool(feature, mask) for feature in features[-self.pool_levels:]]
        inputs = [*pooled, color_statistics(unit, mask, self.histogram_bins)]
        if self.boundary_width:
            inputs.append(boundary_statistics(unit, mask, self.boundary_width, self.histogram_bins))
        raw = self.head(torch.cat(inputs, 1))
        batch = raw.shape[0]
        matrix = torch.eye(3, dtype=raw.dtype, device=raw.device) + raw[:, :9].view(batch, 3, 3)
        offset = raw[:, 9:12]
        curve = raw[:, 12:].view(batch, 3, self.segments + 1)
        # knots: start value + cumulative positive steps; zeros give the identity curve (softplus(log(e−1)) = 1)
        steps = F.softplus(curve[..., 1:] + math.log(math.e - 1)) / self.segments
        knots = torch.cat([curve[..., :1], curve[..., :1] + steps.cumsum(-1)], -1)
        return AffineCurveTransform(matrix, offset, knots)

    def color_mapping(self, composite: Tensor, mask: Tensor, references: Optional[Tensor] = None):
        """The function from ``[0, 1]`` foreground colours to harmonized ones, per image (for full resolution)."""
        return self.predict_transform(composite, mask)

    def harmonize(self, composite: Tensor, mask: Tensor, references: Optional[Tensor] = None) -> Tensor:
        transform = self.predict_transform(composite, mask)
        harmonized = transform(self._to_unit(composite))
        return self.data_preprocessor.normalize(harmonized * 255.0)
