"""Raiha: retrieval-augmented image harmonization (semantic-guided fusion, reference-augmented training).

Load with ``custom_imports = dict(imports=['plugins.raiha'])``. The retrieval itself is core
(:mod:`toolkit.retrieval`); this family holds the network and its training-time reference sampling.
The decoder's default normalisation is RAIN, a core fusion block (:mod:`toolkit.models.fusions`).
"""
from .convert import convert_raiha_checkpoint, convert_released_rhnet_state_dict
from .hooks import ContentEncoderRecordHook
from .raiha import DynamicRegionConv, RaihaHarmonizer, RaihaUNet, SemanticGuidedFusion, foreground_cells
from .transforms import MakeTargetReference, SampleRaihaReference

__all__ = ['ContentEncoderRecordHook', 'DynamicRegionConv', 'RaihaHarmonizer', 'RaihaUNet', 'SemanticGuidedFusion',
           'foreground_cells', 'MakeTargetReference', 'SampleRaihaReference', 'convert_raiha_checkpoint',
           'convert_released_rhnet_state_dict']
