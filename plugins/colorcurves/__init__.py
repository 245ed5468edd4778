"""Colour-curve harmonization: a compact learned harmonizer that predicts one global colour transform per image.

HarmonyZoo's default model for ``harmony harmonize`` (see docs/colorcurves.md). Load from a config with
``custom_imports = dict(imports=['plugins.colorcurves'])``.
"""
from .colorcurves import AffineCurveTransform, ColorCurveHarmonizer, color_statistics, masked_soft_histogram

__all__ = ['AffineCurveTransform', 'ColorCurveHarmonizer', 'color_statistics', 'masked_soft_histogram']
