from torch import Tensor

from toolkit.interfaces import BaseFusion
from toolkit.registry import FUSIONS


@FUSIONS.register_module()
class IdentityFusion(BaseFusion):
    """No fusion: returns the decoder feature unchanged (the baseline every fusion block is compared with)."""

    def forward(self, decoder_feat: Tensor, encoder_feat: Tensor, mask: Tensor) -> Tensor:
        return decoder_feat
