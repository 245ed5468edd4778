"""Raiha: retrieval-augmented image harmonization (semantic-guided fusion, reference-augmented training).

Load with ``custom_imports = dict(imports=['plugins.raiha'])``. The retrieval itself is core
(:mod:`toolkit.retrieval`); this family holds the network and its training-time reference sampling.
The decoder's default normalisation is RAIN from the baselines family, imported here so it is registered.
"""
import plugins.baselines  # noqa: F401  (registers RAIN, the default decoder norm)

from .hooks import ContentEncoderRecordHook
from .raiha import DynamicRegionConv, RaihaHarmonizer, RaihaUNet, SemanticGuidedFusion, foreground_cells
from .transforms import MakeTargetReference, SampleRaihaReference

__all__ = ['ContentEncoderRecordHook', 'DynamicRegionConv', 'RaihaHarmonizer', 'RaihaUNet', 'SemanticGuidedFusion', 'foreground_cells',
           'MakeTargetReference', 'SampleRaihaReference']
