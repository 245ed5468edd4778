"""Region-wise contrastive harmonization (Liang & Pun, "Image Harmonization with Region-wise Contrastive Learning").

No official code exists; this package is the reference implementation. Where the paper is ambiguous the reading
chosen is stated next to the code and collected in ``docs/clharmony.md``. The network reuses two generic core
blocks, :class:`~toolkit.models.backbones.ResUNet` and :class:`~toolkit.models.attention.S2AM`; the method's own
parts are:

* :class:`StyleFusion` (``FUSIONS``, ``style_fusion.py``): external style fusion, eqs. 1–7;
* :class:`RegionContrastiveLoss` (``LOSSES``, ``contrastive_loss.py``): eqs. 8–12.

The default network (``configs/clharmony``) has **28,368,503** parameters: 28,366,583 in the ResUNet with S²AM at
all four decoder levels, plus 1,920 style-fusion affine parameters; the paper reports 28.37M. The contrastive
loss's projection MLP (115,200 parameters for 8×8 RGB patches) is used only in training and is not counted there.

First-party plugins register through the ``harmonyzoo.plugins`` entry points, so configs need no
``custom_imports`` (kept in the shipped configs for environments without the package installed).
"""
from toolkit.models.attention import S2AM
from toolkit.models.backbones import ResUNet

from .contrastive_loss import RegionContrastiveLoss
from .style_fusion import StyleFusion

#: the published network's parameter count (ResUNet width 32, depth 5, 3 units, S²AM ×4, style fusion)
CLHARMONY_PARAMETERS = 28_368_503

__all__ = ['ResUNet', 'S2AM', 'StyleFusion', 'RegionContrastiveLoss', 'CLHARMONY_PARAMETERS']
