"""The released DVT denoiser (Yang et al., "Denoising Vision Transformers", ``reg4_v1.pth``) → :class:`DVTDenoiser`.

``tools/convert_checkpoint.py dvt-denoiser reg4_v1.pth dvt_denoiser.safetensors``, then
``denoiser=dict(weights=dict(path='dvt_denoiser.safetensors'))`` in a retrieval or Raiha config.
"""
from __future__ import annotations

from typing import Optional

from torch import Tensor

from toolkit.checkpoint import read_released_state_dict, remap_state_dict, save_converted
from toolkit.registry import CHECKPOINT_CONVERTERS

from .encoders import DVTDenoiser


def convert_dvt_denoiser_state_dict(official: dict, denoiser: Optional['DVTDenoiser'] = None,
                                    source: str = 'checkpoint') -> dict:
    """Map the released DVT generalizable denoiser (``reg4_v1.pth``, its ``'denoiser'`` entry) onto
    :class:`DVTDenoiser`.

    The release wraps one timm ViT block as ``denoiser.*`` (``norm1``, ``attn.qkv``, ``attn.proj``, ``norm2``,
    ``mlp.fc1``, ``mlp.fc2``) and stores the positional embedding as tokens ``(1, 37·37, D)``; here it is a
    ``(1, D, 37, 37)`` map. ``vit.*`` entries (the frozen backbone, when saved along) are dropped: the backbone
    comes from its own Hub repository.

    Example:
        >>> import torch
        >>> small = DVTDenoiser(dim=8, num_heads=2, pos_grid=3)
        >>> tokens = torch.arange(9 * 8.).view(1, 9, 8)
        >>> renamed = {'qkv': 'attn.qkv', 'proj': 'attn.proj', 'fc1': 'mlp.fc1', 'fc2': 'mlp.fc2'}
        >>> released = {'pos_embed': tokens, **{'denoiser.' + renamed.get(k.split('.')[0], k.split('.')[0]) + '.'
        ...             + k.split('.')[1]: v for k, v in small.state_dict().items() if k != 'pos_embed'}}
        >>> converted = convert_dvt_denoiser_state_dict(released, small)
        >>> converted['pos_embed'][0, :, 1, 2].tolist() == tokens[0, 1 * 3 + 2].tolist()   # row 1, column 2
        True
    """
    if 'denoiser' in official and isinstance(official['denoiser'], dict):
        official = official['denoiser']
    denoiser = denoiser if denoiser is not None else DVTDenoiser()
    expected = {key: value.shape for key, value in denoiser.state_dict().items()}
    dim, grid = expected['pos_embed'][1], expected['pos_embed'][-1]
    prefixes = [('pos_embed', 'pos_embed'), ('denoiser.norm1.', 'norm1.'), ('denoiser.attn.qkv.', 'qkv.'),
                ('denoiser.attn.proj.', 'proj.'), ('denoiser.norm2.', 'norm2.'), ('denoiser.mlp.fc1.', 'fc1.'),
                ('denoiser.mlp.fc2.', 'fc2.')]

    def tokens_to_map(tokens: Tensor) -> Tensor:
        if tokens.ndim != 3 or tokens.shape[1] != grid * grid:
            return tokens  # reported as a shape mismatch
        return tokens.reshape(1, grid, grid, dim).permute(0, 3, 1, 2).contiguous()

    return remap_state_dict(official, expected, prefixes, source, 'DVT denoiser (DVTDenoiser)', dropped=('vit.',),
                            transforms={'pos_embed': tokens_to_map})


@CHECKPOINT_CONVERTERS.register_module('dvt-denoiser')
def convert_dvt_denoiser_checkpoint(source: str, destination: str) -> dict:
    """``reg4_v1.pth`` → ``destination`` (``.safetensors``) for ``DVTDenoiser()`` (ViT-B/14 width)."""
    denoiser = DVTDenoiser()
    converted = convert_dvt_denoiser_state_dict(read_released_state_dict(source), denoiser, source=source)
    denoiser.load_state_dict(converted, strict=True)
    save_converted(converted, destination, source, model='DVTDenoiser')
    return converted
