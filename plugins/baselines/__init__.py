"""Baselines: RAIN and AdaIN fusion blocks, the RainNet harmonizer, and non-learned colour-transfer harmonizers.

Load from a config with ``custom_imports = dict(imports=['plugins.baselines'])``.
"""
from .color_transfer import CopyPasteHarmonizer, HistogramMatchingHarmonizer, ReinhardHarmonizer
from .fusions import RAIN, AdaIN
from .rainnet import RainNet, RainNetGenerator, convert_official_rainnet_state_dict

__all__ = ['RAIN', 'AdaIN', 'RainNet', 'RainNetGenerator', 'convert_official_rainnet_state_dict',
           'CopyPasteHarmonizer', 'ReinhardHarmonizer', 'HistogramMatchingHarmonizer']
