"""Region-wise contrastive harmonization (Liang & Pun): ResUNet + S²AM + external style fusion + region-wise
contrastive loss. Load with ``custom_imports = dict(imports=['plugins.contrastive'])``."""
from .clharmony import S2AM, RegionContrastiveLoss, ResUNet, StyleFusion

__all__ = ['ResUNet', 'S2AM', 'StyleFusion', 'RegionContrastiveLoss']
