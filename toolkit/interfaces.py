"""Abstract interfaces every plugin implements.

Shapes use ``B`` batch, ``C`` channels, ``H×W`` spatial size. Masks are always
``(B, 1, H, W)`` floats in ``[0, 1]`` with 1 = foreground, never normalised.

* :class:`BaseBackbone` – encoder-decoder exposing per-level encoder and decoder features.
* :class:`BaseFusion` – one signature for every decoder fusion block.
* :class:`BaseHarmonizationLoss` – scalar loss reading prediction, target, mask and composite.
* :class:`BaseRetriever` – reference retrieval: ``build_index`` then ``query``.
* Metrics subclass :class:`mmengine.evaluator.BaseMetric` directly.
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModule
from torch import Tensor, nn


def check_mask(mask: Tensor, like: Optional[Tensor] = None, name: str = 'mask') -> None:
    """Raise a ``ValueError`` unless ``mask`` is ``(B, 1, H, W)`` (matching ``like`` in B, H, W)."""
    if mask.ndim != 4 or mask.shape[1] != 1:
        raise ValueError(f'{name} must be (B, 1, H, W); got {tuple(mask.shape)}')
    if like is not None and (mask.shape[0] != like.shape[0] or mask.shape[-2:] != like.shape[-2:]):
        raise ValueError(f'{name} {tuple(mask.shape)} does not match features {tuple(like.shape)} '
                         'in batch size or spatial size')


class BaseBackbone(BaseModule, metaclass=ABCMeta):
    """Encoder-decoder whose decoder levels can be fused with the matching encoder level.

    Subclasses set ``encoder_channels`` (shallow → deep) and ``decoder_channels``
    (deep → shallow, one entry per decoder level that accepts a fusion block) and
    ``decoder_skip_channels`` (the encoder feature paired with each decoder level).

    ``forward(x, mask, fusions)`` runs :meth:`encode` then :meth:`decode`; at decoder
    level ``i`` the backbone calls ``fusions[i](decoder_feat, encoder_feat, mask)`` with the
    input-resolution mask (each block resizes it the way its method does).
    """

    encoder_channels: Sequence[int] = ()
    decoder_channels: Sequence[int] = ()
    decoder_skip_channels: Sequence[int] = ()

    @property
    def num_fusion_levels(self) -> int:
        return len(self.decoder_channels)

    @abstractmethod
    def encode(self, x: Tensor) -> list[Tensor]:
        """``(B, C_in, H, W)`` → list of encoder features, shallow → deep."""

    @abstractmethod
    def decode(self, encoder_feats: list[Tensor], mask: Tensor,
               fusions: Optional[Sequence[nn.Module]] = None) -> Tensor:
        """Encoder features and ``(B, 1, H, W)`` mask → ``(B, C_out, H, W)`` output."""

    def forward(self, x: Tensor, mask: Tensor, fusions: Optional[Sequence[nn.Module]] = None) -> Tensor:
        return self.decode(self.encode(x), mask, fusions)


class BaseFusion(BaseModule, metaclass=ABCMeta):
    """A decoder fusion block: ``forward(decoder_feat, encoder_feat, mask) -> decoder_feat``.

    Args:
        decoder_channels: ``C_d`` of the decoder feature (input and output).
        encoder_channels: ``C_e`` of the encoder feature paired with this level.

    Shapes:
        decoder_feat ``(B, C_d, h, w)``, encoder_feat ``(B, C_e, h, w)``,
        mask ``(B, 1, H, W)`` in [0, 1] at the input's resolution (any size; the block resizes it:
        RAIN nearest-resizes a binary mask as RainNet does, style fusion averages by area) → ``(B, C_d, h, w)``.
    """

    def __init__(self, decoder_channels: int, encoder_channels: int, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.decoder_channels = decoder_channels
        self.encoder_channels = encoder_channels

    @abstractmethod
    def forward(self, decoder_feat: Tensor, encoder_feat: Tensor, mask: Tensor) -> Tensor:
        ...


class BaseHarmonizationLoss(nn.Module, metaclass=ABCMeta):
    """A training loss returning a scalar tensor.

    Args:
        loss_weight: multiplier applied inside ``forward``.
        loss_name: key under which the harmonizer logs it (must start with ``loss``
            for MMEngine to sum it into the total).

    ``forward(pred, target, mask, composite=None)`` takes ``(B, 3, H, W)`` images in
    the model's normalised space and the ``(B, 1, H, W)`` mask.
    """

    def __init__(self, loss_weight: float = 1.0, loss_name: str = 'loss'):
        super().__init__()
        if not loss_name.startswith('loss'):
            raise ValueError(f'loss_name must start with "loss" so MMEngine counts it; got {loss_name!r}')
        self.loss_weight = loss_weight
        self.loss_name = loss_name

    @abstractmethod
    def forward(self, pred: Tensor, target: Tensor, mask: Tensor, composite: Optional[Tensor] = None) -> Tensor:
        ...


@dataclass
class RetrievedReference:
    """One ranked retrieval result."""
    path: str
    score: float
    extra: dict[str, Any] = field(default_factory=dict)


class BaseRetriever(metaclass=ABCMeta):
    """Finds reference images for a composite.

    ``build_index(gallery)`` indexes an iterable of image paths (or arrays);
    ``query(composite, mask, k)`` returns up to ``k`` :class:`RetrievedReference`,
    best first. ``composite`` is ``(H, W, 3)`` uint8 RGB, ``mask`` ``(H, W)`` in [0, 1].
    """

    @abstractmethod
    def build_index(self, gallery: Iterable[Any]) -> None:
        ...

    @abstractmethod
    def query(self, composite: Any, mask: Any, k: int = 5) -> list[RetrievedReference]:
        ...


__all__ = ['BaseBackbone', 'BaseFusion', 'BaseHarmonizationLoss', 'BaseRetriever', 'BaseMetric',
           'RetrievedReference', 'check_mask']
