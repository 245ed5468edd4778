from . import attention, backbones, fusions, losses  # noqa: F401  (register components)
from .base_harmonizer import BaseHarmonizer, EncoderDecoderHarmonizer
from .builder import build_model_from_config
from .data_preprocessor import HarmonizationDataPreprocessor
from .ensemble import HarmonizationEnsemble

__all__ = ['BaseHarmonizer', 'EncoderDecoderHarmonizer', 'HarmonizationDataPreprocessor', 'HarmonizationEnsemble',
           'build_model_from_config']
