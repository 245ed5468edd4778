"""Raiha: retrieval-augmented image harmonization (Wang et al., arXiv 2412.13916).

Reads top to bottom: dynamic region convolution (from HDNet), the semantic-guided fusion (SGF, eqs. 7–10),
the generator (an HDNet-derived U-Net, ngf 32 → 11.46M parameters as the released code), then the
harmonizer that owns the frozen dense content encoder and samples non-reference iterations.

How references enter (``reference_mode``, docs/raiha.md has the evidence):

* ``'concat'`` (default, the paper's and the release's reading): the reference is "concatenated with the
  composite image" and "treated equally" as a supplement of the background (Sec. III-C, Fig. 2). The released
  code places composite and reference side by side, ``[x̃ | x_r]`` along the width with the mask ``[m | 0]``,
  runs the whole U-Net on that canvas and crops the composite's half; so every instance norm, RAIN's
  background statistics, DRConv's global guidance and SGF's keys see the reference.
* ``'attention'``: composite and reference are encoded separately (through the SGF level) and the reference
  enters only as extra keys/values of SGF (eq. 7); the decoder's statistics are the composite's own.

With neither, the network runs on the composite alone (the non-reference setting); padded references
(``reference_valid`` false) are dropped, so a sample without a reference gets exactly that output.
"""
from __future__ import annotations

import random
from typing import Optional, Union

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from toolkit.interfaces import check_mask
from toolkit.models.base_harmonizer import BaseHarmonizer
from toolkit.ops import float32_op, resize_mask_to
from toolkit.registry import FUSIONS, MODELS


def foreground_cells(mask: Tensor, size) -> Tensor:
    """``(B, 1, H, W)`` mask → ``(B, 1, h, w)`` binary: a cell is foreground when **any** of its pixels is
    (max-pooling, as the released SGF does), so thin objects keep at least one query cell."""
    if mask.shape[-2:] == tuple(size):
        return (mask > 0).to(mask.dtype)
    return (F.adaptive_max_pool2d(mask, tuple(size)) > 0).to(mask.dtype)


class DynamicRegionConv(nn.Module):
    """HDNet's dynamic region convolution: two per-sample ``C × C`` 1×1 kernels predicted from the global
    average of the feature; foreground pixels take the first kernel's output, the rest the second's.

    Shapes: ``x (B, C, h, w)``, ``mask (B, 1, H, W)`` → ``(B, C, h, w)``. Parameters ``6C² + 4C + 4`` (the
    released module also builds an unused 1×1 "guide" conv, ``2C + 2`` more; it is left out).

    Example:
        >>> conv = DynamicRegionConv(4)
        >>> tuple(conv(torch.randn(2, 4, 8, 8), torch.ones(2, 1, 16, 16)).shape)
        (2, 4, 8, 8)
    """

    def __init__(self, channels: int):
        super().__init__()
        self.channels = channels
        self.squeeze = nn.Conv2d(channels, 4, 1)
        self.kernels = nn.Conv2d(4, 2 * channels * channels, 1, groups=2)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        batch, channels = x.shape[:2]
        gate = torch.sigmoid(self.squeeze(F.adaptive_avg_pool2d(x, 1)))
        kernels = self.kernels(gate).view(batch, 2, channels, channels)
        outputs = torch.einsum('bkij,bjhw->bkihw', kernels, x)
        foreground = resize_mask_to(mask.to(x.dtype), x.shape[-2:], 'nearest')
        return outputs[:, 0] * foreground + outputs[:, 1] * (1 - foreground)


class SemanticGuidedFusion(nn.Module):
    """SGF (eqs. 7–10): foreground features attend over background and reference features, with the dense
    content features concatenated into the query/key projection.

    * eq. 8: ``Q = φ([e_f, c_f]_c)``, ``K = φ([[e_b, e_r]_s, [c_b, c_r]_s]_c)``; ``φ`` is one 1×1 conv shared
      by both sides (the paper writes φ on both; the released module shares it), or two with
      ``shared_projection=False``. Q and K are L2-normalised, logits = cosine × ``temperature`` (20 as released).
    * eq. 9: ``e_w = softmax(A) × [e_b, e_r]_s`` over the key axis, keys restricted to background cells of the
      composite and to valid reference cells (masked before and zeroed after the softmax: a query with no
      admissible key gets ``e_w = 0``).
    * eq. 10: ``e'_f = φ([e_f, e_w]_c)`` (1×1 conv, no bias) at foreground cells; background cells pass through.

    ``content_channels=0`` gives the "w/o SGF" ablation (plain attention of eq. 7 on the features alone).
    Set ``record_attention = True`` to keep the last ``(B, queries, keys)`` attention in ``last_attention``
    (off by default: at batch 48 and 256 px with a reference it is ~400 MB held between iterations).

    Shapes: ``features (B, C, h, w)``, ``content (B, Dc, h', w')`` (resized to ``h × w`` if needed),
    ``mask (B, 1, H, W)``; references ``(B, R, C, h, w)`` / ``(B, R, Dc, h', w')`` with ``reference_valid (B, R)``.

    Example:
        >>> sgf = SemanticGuidedFusion(channels=8, content_channels=6)
        >>> x, c = torch.randn(2, 8, 4, 4), torch.randn(2, 6, 4, 4)
        >>> mask = torch.zeros(2, 1, 16, 16); mask[..., :8, :8] = 1
        >>> tuple(sgf(x, c, mask, torch.randn(2, 1, 8, 4, 4), torch.randn(2, 1, 6, 4, 4)).shape)
        (2, 8, 4, 4)
    """

    def __init__(self, channels: int, content_channels: int = 768, temperature: float = 20.0,
                 shared_projection: bool = True):
        super().__init__()
        self.channels = channels
        self.content_channels = content_channels
        self.temperature = temperature
        self.query_projection = nn.Conv2d(channels + content_channels, channels, 1)
        self.key_projection = self.query_projection if shared_projection else \
            nn.Conv2d(channels + content_channels, channels, 1)
        self.fuse = nn.Conv2d(2 * channels, channels, 1, bias=False)
        self.record_attention = False
        self.last_attention: Optional[Tensor] = None

    def _guided(self, features: Tensor, content: Optional[Tensor]) -> Tensor:
        if not self.content_channels:
            return features
        if content is None:
            raise ValueError(f'SemanticGuidedFusion({self.channels}, content_channels={self.content_channels}) '
                             'needs content features')
        if content.shape[1] != self.content_channels:
            raise ValueError(f'content must have {self.content_channels} channels; got {tuple(content.shape)}')
        if content.shape[-2:] != features.shape[-2:]:
            content = F.interpolate(content, size=features.shape[-2:], mode='bilinear', align_corners=False)
        return torch.cat([features, content.to(features.dtype)], dim=1)

    def forward(self, features: Tensor, content: Optional[Tensor], mask: Tensor,
                reference_features: Optional[Tensor] = None, reference_content: Optional[Tensor] = None,
                reference_valid: Optional[Tensor] = None) -> Tensor:
        batch, channels, height, width = features.shape
        if channels != self.channels:
            raise ValueError(f'features must be (B, {self.channels}, h, w); got {tuple(features.shape)}')
        check_mask(mask)
        foreground = foreground_cells(mask.to(features.dtype), (height, width)).flatten(1)  # (B, N)
        background = 1 - foreground
        guided = self._guided(features, content)
        queries = self.query_projection(guided).flatten(2)  # (B, C, N), normalised in _masked_attention
        keys = [self.key_projection(guided).flatten(2)]
        values = [features.flatten(2)]
        key_valid = [background]
        if reference_features is not None and reference_features.shape[1]:
            refs = reference_features.shape[1]
            if reference_features.shape[0] != batch or reference_features.shape[2:] != features.shape[1:]:
                raise ValueError(f'reference_features must be (B, R, {channels}, {height}, {width}); '
                                 f'got {tuple(reference_features.shape)}')
            flat_refs = reference_features.flatten(0, 1)
            flat_content = None if reference_content is None else reference_content.flatten(0, 1)
            ref_keys = self.key_projection(self._guided(flat_refs, flat_content)).flatten(2)
            keys.append(ref_keys.view(batch, refs, channels, -1).permute(0, 2, 1, 3).flatten(2))
            values.append(flat_refs.flatten(2).view(batch, refs, channels, -1).permute(0, 2, 1, 3).flatten(2))
            valid = torch.ones(batch, refs, device=features.device, dtype=features.dtype) if reference_valid is None \
                else reference_valid.to(features.dtype)
            key_valid.append(valid[:, :, None].expand(-1, -1, height * width).flatten(1))
        keys, values, key_valid = torch.cat(keys, 2), torch.cat(values, 2), torch.cat(key_valid, 1)
        attention = _masked_attention(queries, keys, key_valid, foreground, self.temperature).to(values.dtype)
        if self.record_attention:
            self.last_attention = attention.detach()
        attended = torch.einsum('bqk,bck->bcq', attention, values).view(batch, channels, height, width)
        fused = self.fuse(torch.cat([attended, features], dim=1))
        cells = foreground.view(batch, 1, height, width)
        return fused * cells + features * (1 - cells)


@float32_op
def _masked_attention(queries: Tensor, keys: Tensor, key_valid: Tensor, foreground: Tensor,
                      temperature: float) -> Tensor:
    """Eqs. 8–9 in float32 even under autocast: Q and K L2-normalised, cosine logits × temperature, invalid keys
    masked before the softmax and zeroed after, background queries zeroed.
    ``(B, C, Q)``, ``(B, C, K)``, ``(B, K)``, ``(B, Q)`` → ``(B, Q, K)``."""
    queries, keys = F.normalize(queries, dim=1, eps=1e-8), F.normalize(keys, dim=1, eps=1e-8)
    logits = torch.einsum('bcq,bck->bqk', queries, keys) * temperature
    logits = logits.masked_fill(key_valid[:, None, :] == 0, torch.finfo(logits.dtype).min)
    return torch.softmax(logits, dim=-1) * key_valid[:, None, :] * foreground[:, :, None]


def _down(in_channels: int, out_channels: int, kernel: int) -> nn.Sequential:
    stride = 2 if kernel == 4 else 1
    return nn.Sequential(nn.LeakyReLU(0.2), nn.Conv2d(in_channels, out_channels, kernel, stride, 1, bias=False))


def _up(in_channels: int, out_channels: int, kernel: int, bias: bool = False) -> nn.Sequential:
    stride = 2 if kernel == 4 else 1
    return nn.Sequential(nn.ReLU(), nn.ConvTranspose2d(in_channels, out_channels, kernel, stride, 1, bias=bias))


class RaihaUNet(nn.Module):
    """The Raiha generator (released ``RHNet``, ngf 32): 7-level U-Net, instance norm in the encoder and
    bottleneck, SGF after layer 8 (1/8 resolution), RAIN-normalised decoder with DRConv at the three
    finest levels, tanh output.

    Args:
        ngf: base width (32 as released; 11,460,271 parameters with 768-d content, i.e. the released
            11,461,173 minus the three unused DRConv guide convs).
        content_channels: content feature width fed to SGF (768 for ViT-B; 0 = "w/o SGF").
        decoder_norm: fusion block config applied after each decoder conv of layers 9–13 (default RAIN).
        sgf: extra :class:`SemanticGuidedFusion` arguments (``temperature``, ``shared_projection``).
        reference_mode: ``'concat'`` (the released side-by-side canvas through the whole network) or
            ``'attention'`` (references only as SGF keys); see the module docstring.

    ``forward(composite, mask, content, references=None, reference_content=None, reference_valid=None)``:
    composite ``(B, 3, H, W)`` in [−1, 1] with ``H, W`` divisible by 8, mask ``(B, 1, H, W)``, content
    ``(B, Dc, g, g)`` or ``None``; references ``(B, R, 3, H, W)`` with content ``(B, R, Dc, g, g)`` and
    ``reference_valid (B, R)`` bool. Output ``(B, 3, H, W)`` in [−1, 1].

    Example:
        >>> net = RaihaUNet(ngf=2, content_channels=0)
        >>> composite, mask = torch.zeros(2, 3, 16, 24), torch.zeros(2, 1, 16, 24)
        >>> mask[..., 4:12, 4:12] = 1
        >>> tuple(net(composite, mask, None, torch.zeros(2, 1, 3, 16, 24)).shape)
        (2, 3, 16, 24)
    """

    REFERENCE_MODES = ('concat', 'attention')

    def __init__(self, ngf: int = 32, content_channels: int = 768, decoder_norm: Optional[dict] = None,
                 sgf: Optional[dict] = None, reference_mode: str = 'concat'):
        super().__init__()
        if reference_mode not in self.REFERENCE_MODES:
            raise ValueError(f'reference_mode must be one of {self.REFERENCE_MODES}; got {reference_mode!r}')
        self.reference_mode = reference_mode
        decoder_norm = dict(type='RAIN') if decoder_norm is None else decoder_norm
        widths = [ngf, 2 * ngf, 4 * ngf, 8 * ngf, 8 * ngf, 8 * ngf, 8 * ngf]
        self.stem = nn.Conv2d(3, ngf, 3, 1, 1, bias=False)
        kernels = [4, 3, 4, 3, 4, 3]
        self.down = nn.ModuleList(_down(widths[i], widths[i + 1], kernels[i]) for i in range(6))
        self.down_norms = nn.ModuleList(nn.InstanceNorm2d(w) for w in widths[1:])
        self.innermost = _down(8 * ngf, 8 * ngf, 3)
        self.up7 = _up(8 * ngf, 8 * ngf, 3)
        self.up8 = _up(16 * ngf, 8 * ngf, 3)
        self.bottleneck_norms = nn.ModuleList([nn.InstanceNorm2d(8 * ngf), nn.InstanceNorm2d(8 * ngf)])
        self.sgf = SemanticGuidedFusion(16 * ngf, content_channels, **(sgf or {}))
        # decoder layers 9–13: (in, out, kernel); each output is normalised, then concatenated with a skip
        spec = [(16 * ngf, 8 * ngf, 4), (16 * ngf, 8 * ngf, 3), (16 * ngf, 4 * ngf, 4), (8 * ngf, 2 * ngf, 3),
                (4 * ngf, ngf, 4)]
        self.up = nn.ModuleList(_up(i, o, k) for i, o, k in spec)
        self.up_norms = nn.ModuleList(FUSIONS.build(dict(decoder_norm, decoder_channels=o, encoder_channels=0))
                                      for _, o, _ in spec)
        self.region_convs = nn.ModuleList(DynamicRegionConv(2 * o) for _, o, _ in spec[2:])
        self.head = _up(2 * ngf, 3, 3, bias=True)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(module: nn.Module) -> None:
        # normal(0, 0.02) on conv weights, zero biases (the released init); RAIN affine stays zero
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(module.weight, 0.0, 0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)

    def encode(self, images: Tensor) -> tuple[list[Tensor], Tensor]:
        """Encoder + bottleneck (layers 0–8) → skips (shallow → deep) and the ``(B, 16·ngf, H/8, W/8)`` tensor
        that enters SGF. References run through here too (they are "all background")."""
        skips = [self.stem(images)]
        for conv, norm in zip(self.down, self.down_norms):
            skips.append(norm(conv(skips[-1])))
        x = self.innermost(skips[-1])
        x = torch.cat([skips[6], self.bottleneck_norms[0](self.up7(x))], dim=1)
        x = torch.cat([skips[5], self.bottleneck_norms[1](self.up8(x))], dim=1)
        return skips, x

    def forward(self, composite: Tensor, mask: Tensor, content: Optional[Tensor],
                references: Optional[Tensor] = None, reference_content: Optional[Tensor] = None,
                reference_valid: Optional[Tensor] = None) -> Tensor:
        if composite.shape[-1] % 8 or composite.shape[-2] % 8:
            raise ValueError(f'RaihaUNet needs H and W divisible by 8; got {tuple(composite.shape[-2:])}')
        if references is None or not references.shape[1]:
            return self._run(composite, mask, content)
        if self.reference_mode == 'attention':
            return self._run(composite, mask, content, references, reference_content, reference_valid)
        return self._side_by_side(composite, mask, content, references, reference_content, reference_valid)

    def _run(self, images: Tensor, mask: Tensor, content: Optional[Tensor], references: Optional[Tensor] = None,
             reference_content: Optional[Tensor] = None, reference_valid: Optional[Tensor] = None) -> Tensor:
        """The U-Net on ``images`` (a composite or a side-by-side canvas); ``references`` only in attention mode."""
        batch = images.shape[0]
        reference_features = None
        if references is not None:
            refs = references.shape[1]
            skips, x = self.encode(torch.cat([images, references.flatten(0, 1)]))
            skips = [skip[:batch] for skip in skips]
            x, reference_features = x[:batch], x[batch:].view(batch, refs, *x.shape[1:])
        else:
            skips, x = self.encode(images)
        x = self.sgf(x, content, mask, reference_features, reference_content, reference_valid)
        for level, (conv, norm) in enumerate(zip(self.up, self.up_norms)):
            x = torch.cat([skips[4 - level], norm(conv(x), None, mask)], dim=1)
            if level >= 2:
                x = self.region_convs[level - 2](x, mask)
        return torch.tanh(self.head(x))

    def _side_by_side(self, composite: Tensor, mask: Tensor, content: Optional[Tensor], references: Tensor,
                      reference_content: Optional[Tensor], reference_valid: Optional[Tensor]) -> Tensor:
        """``[x̃ | x_r1 | … ]`` along the width, mask ``[m | 0 | …]``, content maps likewise; the composite's part
        of the output. Samples are grouped by their number of valid references, so padding never enters a canvas
        (the statistics of every layer would see it)."""
        batch, refs = references.shape[:2]
        width = composite.shape[-1]
        valid = torch.ones(batch, refs, dtype=torch.bool, device=composite.device) if reference_valid is None \
            else reference_valid.bool()
        counts = valid.sum(1)
        outputs, rows_done = [], []
        for count in counts.unique().tolist():
            rows = (counts == count).nonzero().flatten()
            if count == 0:
                outputs.append(self._run(composite[rows], mask[rows], None if content is None else content[rows]))
                rows_done.append(rows)
                continue
            # the valid references of each row, in their given order
            order = torch.sort((~valid[rows]).to(torch.uint8), dim=1, stable=True).indices[:, :count]
            picked = references[rows[:, None], order]  # (n, count, 3, H, W)
            canvas = torch.cat([composite[rows], *picked.unbind(1)], dim=-1)
            canvas_mask = torch.cat([mask[rows], mask.new_zeros(len(rows), 1, mask.shape[-2], width * count)], -1)
            canvas_content = None
            if content is not None:
                if reference_content is None:
                    raise ValueError('references need their content features (reference_content) when the '
                                     'composite has content features')
                canvas_content = torch.cat([content[rows], *reference_content[rows[:, None], order].unbind(1)], -1)
            outputs.append(self._run(canvas, canvas_mask, canvas_content)[..., :width])
            rows_done.append(rows)
        inverse = torch.argsort(torch.cat(rows_done))
        return torch.cat(outputs)[inverse]


@MODELS.register_module()
class RaihaHarmonizer(BaseHarmonizer):
    """Raiha: :class:`RaihaUNet` guided by frozen dense content features, with optional references.

    Args:
        generator: :class:`RaihaUNet` arguments (``content_channels`` is taken from the encoder).
        content_encoder: :class:`~toolkit.retrieval.DenseContentEncoder` config, or ``None`` for "w/o SGF"
            (no content features; SGF becomes plain masked attention). The encoder is frozen and not part of
            the state dict (its weights come from the Hub, not from Raiha checkpoints).
        non_reference_prob: in training, the chance that an iteration drops the references of the whole batch
            (the released code's fair coin: 0.5), so the same network serves the non-reference setting.
        losses, blend_background, data_preprocessor: as :class:`~toolkit.models.BaseHarmonizer`.

    ``inputs['references']`` is ``(B, R, 3, H, W)`` normalised like the composite, and
    ``inputs['reference_valid']`` ``(B, R)`` marks padding (the preprocessor pads batches with missing ones).
    """

    uses_references = True

    def __init__(self, generator: Optional[dict] = None, content_encoder: Union[dict, nn.Module, None] = None,
                 non_reference_prob: float = 0.5, **kwargs):
        super().__init__(**kwargs)
        if not 0.0 <= non_reference_prob <= 1.0:
            raise ValueError(f'non_reference_prob must be in [0, 1]; got {non_reference_prob}')
        encoder = MODELS.build(content_encoder) if isinstance(content_encoder, dict) else content_encoder
        # kept out of the module tree: frozen, hub-loaded, and 86M parameters that no checkpoint should repeat
        object.__setattr__(self, 'content_encoder', encoder)
        generator = dict(generator or {})
        generator['content_channels'] = 0 if encoder is None else encoder.feature_dim
        self.generator = RaihaUNet(**generator)
        self.non_reference_prob = non_reference_prob

    def _apply(self, fn, recurse: bool = True):
        if self.content_encoder is not None:
            self.content_encoder._apply(fn, recurse)
        return super()._apply(fn, recurse)

    @torch.no_grad()
    def content_features(self, images: Tensor) -> Optional[Tensor]:
        """``(N, 3, H, W)`` normalised images → ``(N, D, g, g)`` content features (``None`` without encoder)."""
        if self.content_encoder is None:
            return None
        unit = (self.data_preprocessor.denormalize(images) / 255).clamp(0, 1)
        return self.content_encoder(unit)

    def harmonize(self, composite: Tensor, mask: Tensor, references: Optional[Tensor] = None,
                  reference_valid: Optional[Tensor] = None) -> Tensor:
        content = self.content_features(composite)
        reference_content = None
        if references is not None:
            if references.ndim != 5 or references.shape[0] != composite.shape[0] \
                    or references.shape[2:] != composite.shape[1:]:
                raise ValueError(f'references must be (B, R, 3, H, W) matching the composite '
                                 f'{tuple(composite.shape)}; got {tuple(references.shape)}')
            if references.shape[1] and self.content_encoder is not None:
                reference_content = self.content_features(references.flatten(0, 1))
                reference_content = reference_content.view(*references.shape[:2], *reference_content.shape[1:])
        return self.generator(composite, mask, content, references, reference_content, reference_valid)

    def loss(self, inputs: dict, data_samples: list) -> dict:
        if 'references' in inputs and random.random() < self.non_reference_prob:
            inputs = {key: value for key, value in inputs.items() if key not in ('references', 'reference_valid')}
        return super().loss(inputs, data_samples)
