"""Dense content encoders: patch features of a self-supervised ViT, for retrieval and semantic guidance.

The default is DINOv2 with registers, ViT-B/14 (``transformers``' ``Dinov2WithRegistersModel``; no
torchvision/timm), run as the Raiha paper and code do: the RGB image in [0, 1] is resized to 448×448
(antialiased bilinear), normalised with the ImageNet mean/std, and the last block's tokens after the final
LayerNorm, minus the class and register tokens, form a ``(B, 768, 32, 32)`` map. An optional DVT
"generalizable denoiser" (one ViT block over the patch tokens plus a learned positional embedding) can clean
the map when its weights are available.

Weights come from the Hugging Face Hub through :mod:`toolkit.hub` (safetensors, strict keys, never
unpickled). A ``revision`` of ``None`` resolves the branch ``main`` to its commit once, warns, and the
resolved commit is what the encoder reports in :attr:`DenseContentEncoder.identity` (galleries record it).
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Optional

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toolkit.hub import hub_file
from toolkit.registry import MODELS

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

#: ViT-B/14 with 4 registers as released in ``facebook/dinov2-with-registers-base`` (its config.json values).
DINOV2_REG_VITB14 = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, mlp_ratio=4,
                         patch_size=14, image_size=518, num_register_tokens=4, layerscale_value=1.0,
                         layer_norm_eps=1e-6, qkv_bias=True, hidden_act='gelu')


class DVTDenoiser(nn.Module):
    """DVT's generalizable denoiser: ``x + pos → one pre-norm ViT block`` on the patch grid.

    Args:
        dim: feature width (768 for ViT-B).
        num_heads: attention heads.
        mlp_ratio: hidden width of the MLP over ``dim``.
        pos_grid: side of the learned positional embedding (37 = 518/14 in the DVT release); it is
            resampled to the input grid by antialiased bicubic interpolation, as the release does (timm's
            ``resample_abs_pos_embed``); without antialiasing 37 → 32 aliases (differences up to 0.9 on a
            unit-variance embedding).

    Shapes: ``(B, D, h, w) → (B, D, h, w)``.

    Example:
        >>> denoiser = DVTDenoiser(dim=8, num_heads=2, pos_grid=4)
        >>> tuple(denoiser(torch.zeros(1, 8, 3, 5)).shape)
        (1, 8, 3, 5)
    """

    def __init__(self, dim: int = 768, num_heads: int = 12, mlp_ratio: float = 4.0, pos_grid: int = 37):
        super().__init__()
        if dim % num_heads:
            raise ValueError(f'dim {dim} is not divisible by num_heads {num_heads}')
        self.num_heads = num_heads
        self.pos_embed = nn.Parameter(torch.zeros(1, dim, pos_grid, pos_grid))
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.fc1 = nn.Linear(dim, hidden)
        self.fc2 = nn.Linear(hidden, dim)
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

    def forward(self, features: Tensor) -> Tensor:
        batch, dim, height, width = features.shape
        pos = self.pos_embed
        if pos.shape[-2:] != (height, width):
            pos = F.interpolate(pos, size=(height, width), mode='bicubic', align_corners=False, antialias=True)
        tokens = (features + pos).flatten(2).transpose(1, 2)  # (B, N, D)
        q, k, v = self.qkv(self.norm1(tokens)).reshape(batch, -1, 3, self.num_heads, dim // self.num_heads) \
            .permute(2, 0, 3, 1, 4)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(batch, -1, dim)
        tokens = tokens + self.proj(attended)
        tokens = tokens + self.fc2(F.gelu(self.fc1(self.norm2(tokens))))
        return tokens.transpose(1, 2).reshape(batch, dim, height, width)


def state_dict_sha256(module: nn.Module) -> str:
    """sha256 over a module's parameters and buffers (names, shapes, dtypes and bytes, in name order): what
    identifies weights that exist in no file, such as a seeded random initialisation."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f'{name}:{tuple(tensor.shape)}:{tensor.dtype}'.encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b'')
    return digest.hexdigest()


def _weights_identity(weights: Optional[dict]) -> Optional[dict]:
    if weights is None:
        return None
    if weights.get('path'):
        from toolkit.hub import file_sha256
        return dict(local_sha256=file_sha256(weights['path']))
    return {key: weights.get(key) for key in ('repo_id', 'revision', 'filename')}


@MODELS.register_module()
class DenseContentEncoder(nn.Module):
    """Frozen DINOv2-with-registers ViT (optionally + DVT denoiser) → dense patch features.

    Args:
        arch: ``Dinov2WithRegistersConfig`` fields; default :data:`DINOV2_REG_VITB14`. Tests pass a tiny
            ViT (random weights, same code path).
        input_size: square side the image is resized to (448 in Raiha → a 32×32 grid with patch 14).
        weights: ``dict(repo_id=..., revision=<commit or None>, filename='model.safetensors', sha256=...)``
            or ``dict(path='local/model.safetensors')`` (with its ``config.json`` beside it);
            ``None`` keeps a random initialisation seeded with ``random_seed`` (tests, or loading a state
            dict yourself): identified by the sha256 of its weights, with a warning that its matches mean nothing.
        denoiser: ``None`` (off) or ``dict(weights=dict(repo_id, revision, filename), num_heads, pos_grid)``
            for the DVT denoiser (``weights=dict(path=...)``: a file made by ``tools/convert_checkpoint.py
            dvt-denoiser``); weights are required (a random denoiser would corrupt the features).
        frozen: eval mode and no gradients (the Raiha setting); ``train()`` keeps it in eval.

    Input ``(B, 3, H, W)`` RGB in [0, 1] (any size); output ``(B, D, g, g)`` with ``g = input_size // patch``.

    Example:
        >>> encoder = DenseContentEncoder(arch=dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
        ...                               patch_size=14, image_size=28), input_size=56)
        >>> tuple(encoder(torch.rand(2, 3, 40, 30)).shape)
        (2, 16, 4, 4)
    """

    def __init__(self, arch: Optional[dict] = None, input_size: int = 448, weights: Optional[dict] = None,
                 denoiser: Optional[dict] = None, frozen: bool = True, random_seed: int = 0):
        super().__init__()
        from transformers import Dinov2WithRegistersConfig, Dinov2WithRegistersModel
        arch = dict(DINOV2_REG_VITB14 if arch is None else arch)
        if weights is not None:
            config_path, revision = hub_file(weights, weights.get('config', 'config.json'), 'DenseContentEncoder')
            weights = dict(weights, revision=revision)
            with open(config_path, encoding='utf-8') as handle:
                hub_config = json.load(handle)
            arch.update({key: hub_config[key] for key in DINOV2_REG_VITB14 if key in hub_config})
        arch.setdefault('intermediate_size', int(arch['hidden_size'] * arch.get('mlp_ratio', 4)))
        config = Dinov2WithRegistersConfig(**arch)
        self.arch = {key: getattr(config, key) for key in sorted(set(DINOV2_REG_VITB14) | set(arch))}
        with torch.random.fork_rng(devices=[]):
            # without weights the encoder is a random one: seeded, so that a gallery built in one process and
            # queried in another compares features of the same encoder (and the caller's RNG is untouched)
            torch.manual_seed(random_seed)
            self.vit = Dinov2WithRegistersModel(config)
        self.patch_size = config.patch_size
        if input_size % self.patch_size:
            raise ValueError(f'input_size {input_size} must be a multiple of the patch size {self.patch_size}')
        self.input_size = input_size
        self.num_prefix_tokens = 1 + config.num_register_tokens
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.weights = weights
        if weights is not None:
            self._load(self.vit, weights, weights.get('filename', 'model.safetensors'))
        self.denoiser = None
        self.denoiser_weights = None
        if denoiser is not None:
            denoiser = dict(denoiser)
            denoiser_weights = denoiser.pop('weights', None)
            self.denoiser = DVTDenoiser(dim=config.hidden_size, **denoiser)
            if denoiser_weights is None and not denoiser.pop('random_init', False):
                raise ValueError('denoiser needs weights=dict(repo_id=..., revision=..., filename=...); a randomly '
                                 'initialised denoiser would corrupt the features')
            if denoiser_weights is not None:
                self._load(self.denoiser, denoiser_weights, denoiser_weights.get('filename', 'model.safetensors'))
                self.denoiser_weights = denoiser_weights
        self.frozen = frozen
        if frozen:
            self.requires_grad_(False)
            self.eval()
        if weights is None:
            logging.getLogger(__name__).warning(
                'DenseContentEncoder has random weights (weights=None, seed %d): retrieval and reference matches '
                'with it are meaningless; give weights= for real use', random_seed)

    @staticmethod
    def _load(module: nn.Module, weights: dict, filename: str) -> None:
        from toolkit.hub import check_state_dict, load_state_dict_file
        path, _ = hub_file(weights, filename, type(module).__name__)
        state = load_state_dict_file(path)
        check_state_dict(module, state, path if weights.get('path') else f'{weights["repo_id"]}/{filename}')
        module.load_state_dict(state, strict=True)

    def train(self, mode: bool = True):
        return super().train(False if self.frozen else mode)

    @property
    def feature_dim(self) -> int:
        return self.arch['hidden_size']

    @property
    def grid_size(self) -> int:
        return self.input_size // self.patch_size

    @property
    def identity(self) -> dict:
        """What the features depend on (a gallery refuses queries from a different encoder); checkpoints of
        models using the encoder record it too. Local weight files are named by their sha256."""
        denoiser = None if self.denoiser is None else (_weights_identity(self.denoiser_weights) or True)
        weights = _weights_identity(self.weights)
        if weights is None:  # named by its current weights (seeded, or loaded later): two different ones never match
            weights = dict(state_sha256=state_dict_sha256(self.vit))
        return dict(type=type(self).__name__, arch={key: self.arch[key] for key in sorted(self.arch)},
                    input_size=self.input_size, weights=weights, denoiser=denoiser)

    def forward(self, images: Tensor) -> Tensor:
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f'images must be (B, 3, H, W) RGB in [0, 1]; got {tuple(images.shape)}')
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            size = (self.input_size, self.input_size)
            if images.shape[-2:] != size:
                images = F.interpolate(images.float(), size=size, mode='bilinear', align_corners=False,
                                       antialias=True)
            pixels = (images - self.mean) / self.std
            tokens = self.vit(pixel_values=pixels).last_hidden_state[:, self.num_prefix_tokens:]
            grid = self.grid_size
            features = tokens.transpose(1, 2).reshape(images.shape[0], -1, grid, grid)
            if self.denoiser is not None:
                features = self.denoiser(features)
        return features
