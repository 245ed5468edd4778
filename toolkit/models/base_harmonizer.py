from __future__ import annotations

from abc import abstractmethod
from typing import Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn

from toolkit.interfaces import check_mask
from toolkit.registry import LOSSES, MODELS

ConfigType = Union[dict, nn.Module]


class BaseHarmonizer(BaseModel):
    """Base of every harmonizer: ``forward(inputs, data_samples, mode)`` as MMEngine expects.

    ``inputs`` is the preprocessor's dict: ``composite`` (B, 3, H, W) normalised,
    ``mask`` (B, 1, H, W) in [0, 1], optional ``references`` (B, R, 3, H, W) and, when the batch was
    padded, ``reference_valid`` (B, R) bool (passed to :meth:`harmonize` only then).

    * ``mode='tensor'`` → the harmonized batch ``(B, 3, H, W)`` in normalised space.
    * ``mode='predict'`` → the data samples with ``pred_img`` (3, H, W) on 0–255.
    * ``mode='loss'`` → ``dict`` of named scalar losses (keys start with ``loss``).

    Subclasses implement :meth:`harmonize`. Losses come from ``losses`` configs
    (:data:`~toolkit.registry.LOSSES`), each called as ``loss(pred, target, mask, composite)``.

    Args:
        losses: a loss config, a list of them, or a dict ``{name: config}`` (each logged as ``loss_<name>``
            unless it sets ``loss_name``); ignored by models with no weights.
        blend_background: paste the composite's background back, ``pred·m + composite·(1−m)``:
            ``True`` in every mode (losses see the blended image, as RainNet trains); ``'predict'`` only for
            outputs (``predict``/``tensor``), so losses supervise the raw network output — the whole image,
            background included, as the region-wise contrastive paper does; ``False`` never.
        data_preprocessor: preprocessor config (default :class:`HarmonizationDataPreprocessor`).
    """

    #: whether :meth:`harmonize` takes ``references`` (reference-based models such as Raiha set it)
    uses_references = False

    def __init__(self, losses: Optional[Union[ConfigType, Sequence[ConfigType], dict]] = None,
                 blend_background: Union[bool, str] = True, data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='HarmonizationDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            # built here: BaseModel would look in MMEngine's root registry, outside our scope
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if blend_background not in (True, False, 'predict'):
            raise ValueError(f"blend_background must be True, False or 'predict'; got {blend_background!r}")
        if losses is None:
            losses = []
        elif isinstance(losses, dict) and 'type' not in losses:
            # named losses, {name: config}: a child config (or --cfg-options model.losses.hcl.num_patches=512)
            # changes one value of one loss without re-listing the others
            losses = [dict(config, loss_name=config.get('loss_name', f'loss_{name}')) if isinstance(config, dict)
                      else config for name, config in losses.items() if config is not None]
        elif isinstance(losses, (dict, nn.Module)):
            losses = [losses]
        self.losses = nn.ModuleList(loss if isinstance(loss, nn.Module) else LOSSES.build(loss) for loss in losses)
        names = [loss.loss_name for loss in self.losses]
        if len(set(names)) != len(names):
            raise ValueError(f'loss names must be unique; got {names}')
        self.blend_background = blend_background

    @abstractmethod
    def harmonize(self, composite: Tensor, mask: Tensor, references: Optional[Tensor] = None) -> Tensor:
        """``(B, 3, H, W)`` normalised composite and ``(B, 1, H, W)`` mask → ``(B, 3, H, W)`` output."""

    def _run(self, inputs: dict, training: bool = False) -> Tensor:
        composite, mask = inputs['composite'], inputs['mask']
        if composite.ndim != 4 or composite.shape[1] != 3:
            raise ValueError(f'composite must be (B, 3, H, W); got {tuple(composite.shape)}')
        check_mask(mask, composite)
        extra = {} if inputs.get('reference_valid') is None else dict(reference_valid=inputs['reference_valid'])
        output = self.harmonize(composite, mask, inputs.get('references'), **extra)
        if output.shape != composite.shape:
            raise RuntimeError(f'{type(self).__name__}.harmonize returned {tuple(output.shape)}, '
                               f'expected {tuple(composite.shape)}')
        if self.blend_background is True or (self.blend_background == 'predict' and not training):
            output = output * mask + composite * (1 - mask)
        return output

    def forward(self, inputs: dict, data_samples: Optional[list] = None, mode: str = 'tensor'):
        if mode == 'tensor':
            return self._run(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss'; got {mode!r}")

    def loss(self, inputs: dict, data_samples: list) -> dict:
        if not len(self.losses):
            raise RuntimeError(f'{type(self).__name__} has no losses configured; it cannot be trained')
        pred = self._run(inputs, training=True)
        target = self.data_preprocessor.stack_gt(data_samples)
        return {loss.loss_name: loss(pred, target, inputs['mask'], inputs['composite']) for loss in self.losses}

    @torch.no_grad()
    def predict(self, inputs: dict, data_samples: Optional[list] = None) -> list:
        pred = self.data_preprocessor.denormalize(self._run(inputs))
        if data_samples is None:
            from toolkit.structures import HarmonizationDataSample
            data_samples = [HarmonizationDataSample() for _ in range(pred.shape[0])]
        for sample, image in zip(data_samples, pred):
            sample.pred_img = image
        return data_samples


@MODELS.register_module()
class EncoderDecoderHarmonizer(BaseHarmonizer):
    """Backbone + a fusion block at each decoder level + losses.

    The backbone sees ``cat(composite, mask)`` (4 channels) and predicts either the
    image or, with ``residual=True``, a correction added to the composite.

    Args:
        backbone: :data:`~toolkit.registry.BACKBONES` config.
        fusion: one :data:`~toolkit.registry.FUSIONS` config for every decoder level, or a
            list with one config (or ``None`` = identity) per level, deepest first. The
            ``decoder_channels``/``encoder_channels`` arguments are filled in here.
        residual: predict ``composite + backbone(x)``.

    Example:
        >>> model = EncoderDecoderHarmonizer(
        ...     backbone=dict(type='UNet', base_channels=4, num_levels=2),
        ...     fusion=dict(type='IdentityFusion'), losses=dict(type='L1Loss'))
        >>> out = model(dict(composite=torch.zeros(1, 3, 16, 16), mask=torch.ones(1, 1, 16, 16)))
        >>> tuple(out.shape)
        (1, 3, 16, 16)
    """

    def __init__(self, backbone: dict, fusion: Optional[Union[dict, Sequence[Optional[dict]]]] = None,
                 residual: bool = True, **kwargs):
        super().__init__(**kwargs)
        from toolkit.registry import BACKBONES, FUSIONS
        self.backbone = BACKBONES.build(backbone)
        levels = self.backbone.num_fusion_levels
        if fusion is None or isinstance(fusion, dict):
            fusion = [fusion] * levels
        if len(fusion) != levels:
            raise ValueError(f'{len(fusion)} fusion configs given for {levels} decoder levels of '
                             f'{type(self.backbone).__name__}')
        blocks = []
        for cfg, decoder_channels, encoder_channels in zip(fusion, self.backbone.decoder_channels,
                                                           self.backbone.decoder_skip_channels):
            cfg = dict(type='IdentityFusion') if cfg is None else dict(cfg)
            cfg.update(decoder_channels=decoder_channels, encoder_channels=encoder_channels)
            blocks.append(FUSIONS.build(cfg))
        self.fusions = nn.ModuleList(blocks)
        self.residual = residual

    def harmonize(self, composite: Tensor, mask: Tensor, references: Optional[Tensor] = None) -> Tensor:
        output = self.backbone(torch.cat([composite, mask], dim=1), mask, self.fusions)
        return composite + output if self.residual else output
