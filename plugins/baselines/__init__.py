"""Baselines: the RainNet harmonizer and non-learned colour-transfer harmonizers (RAIN and AdaIN, the fusion
blocks RainNet uses, are core: :mod:`toolkit.models.fusions.normalization`; re-exported here by name).

Load from a config with ``custom_imports = dict(imports=['plugins.baselines'])``.
"""
from toolkit.models.fusions import RAIN, AdaIN

from .color_transfer import CopyPasteHarmonizer, HistogramMatchingHarmonizer, ReinhardHarmonizer
from .convert import convert_official_rainnet_state_dict, convert_rainnet_checkpoint
from .rainnet import RainNet, RainNetGenerator

__all__ = ['RAIN', 'AdaIN', 'RainNet', 'RainNetGenerator', 'convert_official_rainnet_state_dict',
           'convert_rainnet_checkpoint',
           'CopyPasteHarmonizer', 'ReinhardHarmonizer', 'HistogramMatchingHarmonizer']
