"""Metric profiles: the field's incompatible MSE/PSNR/fMSE conventions, named.

Papers on iHarmony4 compute "the same" metrics in different ways, which is the
main reason published numbers fail to reproduce. A profile fixes every choice;
each result records the profile's name and its written definition.

========================= ==================================================================
profile                   differs from ``toolkit`` (the default) in
========================= ==================================================================
``toolkit``               — (256×256 by area/bilinear resizing, 0–255 rounded, peak 255, mask resized
                          bilinearly and binarised > 0.5, fMSE over 3·N_fg)
``target-peak``           PSNR/fPSNR peak = the target image's own maximum
``dynamic-range``         PSNR/fPSNR peak = the target's max − min (per-image data range)
``soft-mask``             the bilinearly resized mask is never thresholded (soft weights)
``fmse-full-image``       fMSE = full-image MSE · H·W / N_fg
``ssim-unit-constants``   SSIM constants for [0, 1] data applied to 0–255 values
``is2am``                 iS2AM's evaluation code (also CDTNet's): bilinear image / nearest mask resize,
                          float predictions, PSNR peak = target max with MSE + 1e-6, fMSE over 3·N_fg + 1e-6
``dccf``                  DCCF's code: as ``is2am`` but MSE = mean(mask·d²) (foreground error only)
``pct-net``               PCT-Net's code: as ``dccf`` but PSNR peak 255
========================= ==================================================================
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Optional, Union


@dataclass(frozen=True)
class MetricProfile:
    """Every choice that changes a harmonization metric's value.

    Attributes:
        name: profile name recorded with results.
        resolution: ``(height, width)`` at which metrics are computed; pred, target and mask
            are resized there (images with area/bilinear interpolation, the mask bilinearly)
            when they arrive at another size. ``None`` keeps the incoming size.
        mask_threshold: foreground = mask > threshold; ``None`` keeps soft weights.
        psnr_peak: ``255.0`` (or another number), ``'target_max'`` or ``'target_range'``.
        fmse_definition: ``'foreground'`` (Σ_fg d² / 3·N_fg) or ``'full_image'`` (MSE·H·W / N_fg).
        ssim_data_range: data range used for the SSIM constants (255 for 0–255 data).
        quantize: round predictions to integers in [0, 255] first, as when evaluating saved 8-bit images.
        image_interpolation: how images are resized to ``resolution`` (also in the benchmark's pipeline):
            ``'auto'`` (area when shrinking, bilinear when enlarging), ``'bilinear'`` (OpenCV's, not
            antialiased, as albumentations' ``Resize``), ``'area'``, ``'bicubic'``, ``'nearest'``.
        mask_interpolation: how the mask is resized: ``'bilinear'`` (soft edges, then thresholded unless
            ``mask_threshold`` is None), ``'nearest'``, ``'area'``.
        mse_definition: ``'image'`` (mean over H·W·3 of d²) or ``'masked'`` (mean over H·W·3 of mask·d²:
            foreground error only, as DCCF and PCT-Net report "MSE").
        psnr_epsilon: added to the MSE inside PSNR (1e-6 in iS2AM-derived code); 0 clamps it at 1e-10 instead.
        fmse_epsilon: added to the fMSE denominator ``3·N_fg`` (1e-6 in iS2AM-derived code).
    """

    name: str = 'toolkit'
    resolution: Optional[tuple[int, int]] = (256, 256)
    mask_threshold: Optional[float] = 0.5
    psnr_peak: Union[float, str] = 255.0
    fmse_definition: str = 'foreground'
    ssim_data_range: float = 255.0
    quantize: bool = True
    image_interpolation: str = 'auto'
    mask_interpolation: str = 'bilinear'
    mse_definition: str = 'image'
    psnr_epsilon: float = 0.0
    fmse_epsilon: float = 0.0

    def __post_init__(self):
        if self.fmse_definition not in ('foreground', 'full_image'):
            raise ValueError(f'fmse_definition must be foreground or full_image; got {self.fmse_definition!r}')
        if self.mse_definition not in ('image', 'masked'):
            raise ValueError(f"mse_definition must be 'image' or 'masked'; got {self.mse_definition!r}")
        if self.image_interpolation not in ('auto', 'bilinear', 'area', 'bicubic', 'nearest'):
            raise ValueError(f'unknown image_interpolation {self.image_interpolation!r}')
        if self.mask_interpolation not in ('bilinear', 'nearest', 'area'):
            raise ValueError(f'unknown mask_interpolation {self.mask_interpolation!r}')
        if isinstance(self.psnr_peak, str) and self.psnr_peak not in ('target_max', 'target_range'):
            raise ValueError(f"psnr_peak must be a number, 'target_max' or 'target_range'; got {self.psnr_peak!r}")
        if self.resolution is not None:
            object.__setattr__(self, 'resolution', tuple(int(v) for v in self.resolution))

    def describe(self) -> str:
        """One paragraph that defines every metric under this profile."""
        size = f'{self.resolution[0]}x{self.resolution[1]}' if self.resolution else 'their native size'
        if isinstance(self.psnr_peak, str):
            peak = {'target_max': "the target image's maximum",
                    'target_range': "the target image's max - min"}[self.psnr_peak]
        else:
            peak = f'{self.psnr_peak:g}'
        mask = (f'the mask binarised as mask > {self.mask_threshold:g}' if self.mask_threshold is not None
                else 'the soft (unthresholded) mask as weights')
        epsilon = f' + {self.fmse_epsilon:g}' if self.fmse_epsilon else ''
        fmse = (f'sum over foreground pixels of squared error / (3 * N_fg{epsilon})'
                if self.fmse_definition == 'foreground' else 'full-image MSE * H * W / N_fg')
        rounding = 'rounded to integers in [0, 255]' if self.quantize else 'kept as floats, clipped to [0, 255]'
        interpolation = {'auto': 'area when shrinking, bilinear when enlarging', 'bilinear': 'bilinear (OpenCV)',
                         'area': 'area', 'bicubic': 'bicubic', 'nearest': 'nearest'}[self.image_interpolation]
        mse = ('mean over H*W*3 of squared error' if self.mse_definition == 'image'
               else 'mean over H*W*3 of mask * squared error (foreground error only)')
        psnr_mse = f'(MSE + {self.psnr_epsilon:g})' if self.psnr_epsilon else 'MSE'
        return (f'Profile "{self.name}": prediction, target and mask resized to {size} (images {interpolation}, '
                f'the mask {self.mask_interpolation}); values on 0-255, predictions {rounding}; MSE = {mse} per '
                f'image; PSNR = 10*log10(peak^2/{psnr_mse}) per image with peak = {peak}; fMSE = {fmse} with '
                f'{mask} (N_fg = sum of mask); fPSNR = 10*log10(peak^2/fMSE); SSIM = Gaussian window 11 '
                f'(sigma 1.5), K1 0.01, K2 0.03, data_range {self.ssim_data_range:g}, as scikit-image; '
                f'fSSIM = mask-weighted mean of the channel-averaged SSIM map. Per-subset values are means '
                f'over images; "All" pools every image (not the mean of subset means).')

    def to_dict(self) -> dict:
        return dict(dataclasses.asdict(self), definition=self.describe())


METRIC_PROFILES: dict[str, MetricProfile] = {
    profile.name: profile for profile in (
        MetricProfile(),
        MetricProfile(name='target-peak', psnr_peak='target_max'),
        MetricProfile(name='dynamic-range', psnr_peak='target_range'),
        MetricProfile(name='soft-mask', mask_threshold=None),
        MetricProfile(name='fmse-full-image', fmse_definition='full_image'),
        MetricProfile(name='ssim-unit-constants', ssim_data_range=1.0),
        # the evaluation code of iS2AM (SamsungLabs/image_harmonization, iharm/inference), reused by CDTNet:
        # albumentations
        # Resize(256, 256) (bilinear images, nearest masks), float predictions, PSNR on the target's max with MSE + 1e-6
        MetricProfile(name='is2am', image_interpolation='bilinear', mask_interpolation='nearest', quantize=False,
                      mask_threshold=None, psnr_peak='target_max', psnr_epsilon=1e-6, fmse_epsilon=1e-6),
        # DCCF (rockeyben/DCCF): iS2AM's framework, but "MSE" is mean(mask · d²)
        MetricProfile(name='dccf', image_interpolation='bilinear', mask_interpolation='nearest', quantize=False,
                      mask_threshold=None, psnr_peak='target_max', psnr_epsilon=1e-6, fmse_epsilon=1e-6,
                      mse_definition='masked'),
        # PCT-Net (rakutentech/PCT-Net-Image-Harmonization): as DCCF with a fixed PSNR peak of 255
        MetricProfile(name='pct-net', image_interpolation='bilinear', mask_interpolation='nearest', quantize=False,
                      mask_threshold=None, psnr_peak=255.0, psnr_epsilon=1e-6, fmse_epsilon=1e-6,
                      mse_definition='masked'),
    )
}


def get_profile(profile: Union[str, dict, MetricProfile, None] = None) -> MetricProfile:
    """A profile by name, from a dict of :class:`MetricProfile` fields, or as given."""
    if profile is None:
        return METRIC_PROFILES['toolkit']
    if isinstance(profile, MetricProfile):
        return profile
    if isinstance(profile, str):
        if profile not in METRIC_PROFILES:
            raise KeyError(f'unknown metric profile {profile!r}; available: {", ".join(METRIC_PROFILES)}')
        return METRIC_PROFILES[profile]
    if isinstance(profile, dict):
        fields = dict(profile)
        base = METRIC_PROFILES[fields.pop('base', 'toolkit')]
        fields.setdefault('name', 'custom')
        return dataclasses.replace(base, **fields)
    raise TypeError(f'profile must be a name, dict or MetricProfile; got {type(profile).__name__}')
