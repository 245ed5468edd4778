"""A weighted mean of harmonizers: ``output = Σ_k w_k · member_k(composite, mask)``, weights summing to one.

Why a zoo needs one: harmonizers of different kinds fail on different composites. A global colour-curve model
is safe on texture but cannot tell a far-off object from one that fits; a small encoder–decoder moves far-off
objects further but greys saturated ones. Their errors are partly independent, so their mean is closer to the
real image than either (for the squared error, ``‖Σw_k y_k − r‖² = Σw_k‖y_k − r‖² − ½Σ_jk w_j w_k‖y_j − y_k‖²``:
the mean is never worse than the members' weighted error, and better by how much they disagree). The plain mean of
two hues is greyer than either, so colours can also be mixed by a chroma-preserving mean (``colour_mean='chroma'``:
CIELAB lightness and hue averaged, the chroma the members' mean).

The members are ordinary zoo models: their configs are named here and built as they are; their weights load
into ``members.<k>.*`` — one checkpoint with those prefixes (``CONFIG.py:CHECKPOINT``), or each member's own file
(:meth:`HarmonizationEnsemble.load_member_weights`, what the zoo does, so no weights are stored twice).
The ensemble is not trained as a whole: train its members.

:class:`~toolkit.apis.Harmonizer` carries each member's change to full resolution in that member's own way (a
colour function applied exactly, or a fitted colour transform) and mixes the full-resolution results as the ensemble
mixes its outputs (:meth:`HarmonizationEnsemble.mix_levels`).
"""
from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence, Union

import numpy as np
import torch
from mmengine.model import BaseDataPreprocessor, BaseModel
from torch import Tensor, nn

from toolkit.registry import MODELS

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
#: how members' colours are averaged: ``'rgb'`` the plain weighted mean; ``'chroma'`` the chroma-preserving mean
#: (:func:`toolkit.ops.color.chroma_preserving_mean`: the plain mean of two hues is greyer than either)
COLOUR_MEANS = ('rgb', 'chroma')
#: pixels per chunk of :func:`mix_levels`' CIELAB mix
MIX_CHUNK_PIXELS = 1 << 16


def mix_outputs(outputs: Sequence[Tensor], weights: Sequence[float], colour_mean: str = 'rgb') -> Tensor:
    """The ensemble of members' outputs ``(..., 3, H, W)`` on 0–255 (each already clipped to 0–255)."""
    if colour_mean == 'rgb':
        return sum(weight * output for weight, output in zip(weights, outputs))
    if colour_mean == 'chroma':
        from toolkit.ops.color import chroma_preserving_mean
        return chroma_preserving_mean(outputs, weights)
    raise ValueError(f'colour_mean must be one of {COLOUR_MEANS}; got {colour_mean!r}')


def mix_levels(levels: Sequence[np.ndarray], weights: Sequence[float], colour_mean: str = 'rgb') -> np.ndarray:
    """:func:`mix_outputs` for ``(h, w, 3)`` float arrays on 0–255 (the full-resolution bands)."""
    if colour_mean == 'rgb':
        return sum(np.float32(weight) * np.asarray(level, np.float32) for weight, level in zip(weights, levels))
    levels = [np.asarray(level, np.float32) for level in levels]
    height, width = levels[0].shape[:2]
    mixed = np.empty((height, width, 3), np.float32)
    # per-pixel arithmetic, so chunks give the same values; chunks of ~64k pixels stay in cache (twice as fast as
    # 1 MP at once, measured) and bound the float64 CIELAB temporaries
    rows = max(1, MIX_CHUNK_PIXELS // max(width, 1))
    for start in range(0, height, rows):
        chunk = [torch.from_numpy(np.ascontiguousarray(level[start:start + rows].transpose(2, 0, 1)))
                 for level in levels]
        mixed[start:start + rows] = mix_outputs(chunk, weights, colour_mean).numpy().transpose(1, 2, 0)
    return mixed


def member_config_path(member: str) -> str:
    """The file of a member named by its config (relative to the repository root, or absolute), normalised."""
    return osp.normpath(member if osp.isabs(member) else osp.join(REPO_ROOT, member))


def _member_config(member: Union[str, dict]):
    """A member given as a config file (relative to the repository root or absolute) or as a model dict."""
    from mmengine.config import Config
    if isinstance(member, dict):
        return Config(dict(model=member)), None
    path = member_config_path(member)
    if not osp.isfile(path):
        raise FileNotFoundError(f'ensemble member config {member} does not exist')
    return Config.fromfile(path), member


@MODELS.register_module()
class HarmonizationEnsemble(BaseModel):
    """The weighted mean of member harmonizers' outputs (``mode='predict'`` and ``'tensor'``, on 0–255).

    Args:
        members: each a config file whose ``model`` is a harmonizer (``configs/…/x.py``, relative to the repository
            root) or a model dict.
        weights: one positive weight per member, normalised to sum to one (default: the plain mean).
        colour_mean: ``'rgb'`` (the weighted mean of the members' RGB values) or ``'chroma'`` (lightness and hue
            averaged in CIELAB, the chroma the weighted mean of the members' chromas: the plain mean of two hues is
            greyer than either; :func:`toolkit.ops.color.chroma_preserving_mean`).

    Inputs are what each member's own data preprocessor takes (``composite`` uint8 ``(B, 3, H, W)``, ``mask``
    ``(B, 1, H, W)``): the ensemble's preprocessor only moves them to the device, and each member normalises them
    as it was trained to.

    Example:
        >>> import torch
        >>> ensemble = HarmonizationEnsemble(['configs/baselines/reinhard-lab_iharmony4-256.py',
        ...                                   'configs/baselines/copy-paste_iharmony4-256.py'], weights=[1, 3])
        >>> composite = torch.randint(0, 256, (1, 3, 32, 32), dtype=torch.uint8)
        >>> mask = torch.zeros(1, 1, 32, 32); mask[..., 8:24, 8:24] = 1
        >>> data = ensemble.data_preprocessor(dict(inputs=dict(composite=composite, mask=mask)))
        >>> out = ensemble(**data, mode='predict')[0].pred_img
        >>> out.shape, ensemble.member_weights
        (torch.Size([3, 32, 32]), (0.25, 0.75))
        >>> bool((out[:, :8] == composite[0, :, :8]).all())  # the background stays the composite's
        True
    """

    #: the ensemble does not take reference images (members that do are refused)
    uses_references = False

    def __init__(self, members: Sequence[Union[str, dict]], weights: Optional[Sequence[float]] = None,
                 colour_mean: str = 'rgb', data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor or BaseDataPreprocessor(), init_cfg=init_cfg)
        if colour_mean not in COLOUR_MEANS:
            raise ValueError(f'colour_mean must be one of {COLOUR_MEANS}; got {colour_mean!r}')
        self.colour_mean = colour_mean
        from .builder import build_model_from_config
        if len(members) < 2:
            raise ValueError(f'an ensemble needs at least two members; got {len(members)}')
        weights = [1.0] * len(members) if weights is None else [float(w) for w in weights]
        if len(weights) != len(members):
            raise ValueError(f'{len(members)} ensemble members but {len(weights)} weights')
        if any(not w > 0 for w in weights):
            raise ValueError(f'ensemble weights must be positive; got {weights}')
        self.member_weights = tuple(w / sum(weights) for w in weights)
        built, self.member_configs = [], []
        for member in members:
            config, label = _member_config(member)
            model, _ = build_model_from_config(config)
            if getattr(model, 'uses_references', False):
                raise ValueError(f'ensemble member {label or type(model).__name__} takes reference images; an '
                                 'ensemble averages reference-free harmonizers only')
            built.append(model)
            self.member_configs.append(label)
        self.members = nn.ModuleList(built)

    def mix_levels(self, levels: Sequence[np.ndarray]) -> np.ndarray:
        """The members' full-resolution levels ``(h, w, 3)`` (each clipped to 0–255) → the ensemble's."""
        return mix_levels(levels, self.member_weights, self.colour_mean)

    def load_member_weights(self, paths: Sequence[str]) -> 'HarmonizationEnsemble':
        """Load each member's own weights file (strictly and safely, :func:`toolkit.hub.load_weights`); ``None``
        for a member without weights (a non-learned one)."""
        from toolkit.hub import load_weights
        if len(paths) != len(self.members):
            raise ValueError(f'{len(self.members)} ensemble members but {len(paths)} weights files')
        for member, path in zip(self.members, paths):
            if path is not None:
                load_weights(member, path)
        return self

    def _member_outputs(self, inputs) -> list:
        """Each member's ``(B, 3, H, W)`` output on 0–255, from its own preprocessing of the raw inputs."""
        outputs = []
        for member in self.members:
            data = member.data_preprocessor(dict(inputs=inputs, data_samples=None))
            samples = member(**data, mode='predict')
            outputs.append(torch.stack([sample.pred_img for sample in samples]).float().clamp(0, 255))
        return outputs

    def forward(self, inputs, data_samples: Optional[list] = None, mode: str = 'predict'):
        """``'predict'``: data samples with ``pred_img`` ``(3, H, W)`` on 0–255, the members' weighted mean;
        ``'tensor'``: that batch ``(B, 3, H, W)``. ``'loss'`` is refused (train the members)."""
        if mode == 'loss':
            raise RuntimeError('an ensemble is not trained as a whole; train its members (their configs are '
                               f'{", ".join(str(c) for c in self.member_configs)})')
        if mode not in ('predict', 'tensor'):
            raise ValueError(f"mode must be 'tensor', 'predict' or 'loss'; got {mode!r}")
        with torch.no_grad():
            mean = mix_outputs(self._member_outputs(inputs), self.member_weights, self.colour_mean)
        if mode == 'tensor':
            return mean
        if data_samples is None:
            from toolkit.structures import HarmonizationDataSample
            data_samples = [HarmonizationDataSample() for _ in range(mean.shape[0])]
        for sample, image in zip(data_samples, mean):
            sample.pred_img = image
        return data_samples

    def train_step(self, data, optim_wrapper):
        raise RuntimeError('an ensemble is not trained as a whole; train its members')

