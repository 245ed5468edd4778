"""Released Raiha weights → :class:`~plugins.raiha.RaihaUNet`.

The release (SSRheart/Raiha @64da293, ``models/networks.py``) names its generator ``RHNet`` with flat
attributes ``model_layer0`` … ``model_layer13``, ``model_out`` and the attention ``DVTATT``; parameter shapes
map one to one. Its DRConv modules also hold a 1×1 ``conv_guide`` that the released forward never calls: it is
dropped. The attention's single projection ``K_conv`` serves both queries and keys (SGF's shared projection).

Use ``tools/convert_checkpoint.py raiha latest_net_G.pth raiha.safetensors`` (read with
``torch.load(weights_only=True)``: tensors only, nothing else unpickled).
"""
from __future__ import annotations

from typing import Mapping, Optional

from torch import Tensor

from toolkit.checkpoint import read_released_state_dict, save_converted
from toolkit.registry import CHECKPOINT_CONVERTERS

from .raiha import RaihaUNet

#: DRConv's unused guide conv in the release (built, never called in forward)
RELEASED_UNUSED = tuple(f'model_layer{index}att.conv_guide.' for index in (11, 12, 13))


def released_rhnet_prefixes() -> list[tuple[str, object]]:
    """``(released prefix, RaihaUNet prefix(es))`` pairs. Released Sequentials are ``(activation, conv)``: the
    conv is entry ``.1``; decoder norms 9–13 are RAIN (layers 1–8 use parameter-free instance norm)."""
    pairs: list[tuple[str, object]] = [('model_layer0.', 'stem.'), ('model_layer71.1.', 'innermost.1.'),
                                       ('model_layer72.1.', 'up7.1.'), ('model_layer8.1.', 'up8.1.'),
                                       ('model_out.1.', 'head.1.'),
                                       ('DVTATT.K_conv.', ['sgf.query_projection.', 'sgf.key_projection.']),
                                       ('DVTATT.fuse.', 'sgf.fuse.')]
    pairs += [(f'model_layer{layer}.1.', f'down.{layer - 1}.1.') for layer in range(1, 7)]
    pairs += [(f'model_layer{layer}.1.', f'up.{layer - 9}.1.') for layer in range(9, 14)]
    pairs += [(f'model_layer{layer}norm.', f'up_norms.{layer - 9}.') for layer in range(9, 14)]
    for index, layer in enumerate((11, 12, 13)):
        # conv_kernel = (global pool, 1×1 conv C→4, sigmoid, grouped 1×1 conv 4→2C²)
        pairs += [(f'model_layer{layer}att.conv_kernel.1.', f'region_convs.{index}.squeeze.'),
                  (f'model_layer{layer}att.conv_kernel.3.', f'region_convs.{index}.kernels.')]
    return pairs


def convert_released_rhnet_state_dict(official: Mapping[str, Tensor], model: Optional[RaihaUNet] = None,
                                      source: str = 'checkpoint') -> dict[str, Tensor]:
    """Map a released ``RHNet`` state dict (e.g. ``60_net_G.pth``) onto :class:`RaihaUNet`.

    Args:
        official: the plain state dict; a ``module.`` prefix (DataParallel) is stripped.
        model: the target generator (default ``RaihaUNet()``: ngf 32, 768-d content, as released).
        source: file name for error messages.

    Raises:
        KeyError: every released key without a counterpart, every generator key left unfilled, every shape
            mismatch, in one message.

    Example:
        >>> net = RaihaUNet(ngf=2, content_channels=768)
        >>> released = {'model_layer0.weight': net.stem.weight.detach().clone()}
        >>> try:
        ...     convert_released_rhnet_state_dict(released, net)
        ... except KeyError as error:
        ...     print(str(error.args[0]).splitlines()[1][:20])
          missing (53): down
    """
    from toolkit.checkpoint import remap_state_dict
    model = model if model is not None else RaihaUNet()
    expected = {key: value.shape for key, value in model.state_dict().items()}
    return remap_state_dict(official, expected, released_rhnet_prefixes(), source, 'Raiha generator (RaihaUNet)',
                            dropped=RELEASED_UNUSED)


@CHECKPOINT_CONVERTERS.register_module('raiha')
def convert_raiha_checkpoint(source: str, destination: str) -> dict:
    """The released Raiha generator → the ``generator.*`` keys of ``RaihaHarmonizer`` (ngf 32, 768-d content)."""
    generator = RaihaUNet()
    converted = convert_released_rhnet_state_dict(read_released_state_dict(source), generator, source=source)
    generator.load_state_dict(converted, strict=True)
    # the model lists a shared SGF projection under both names; each key gets its own stored copy
    save_converted({f'generator.{key}': value for key, value in converted.items()}, destination, source,
                   model='RaihaHarmonizer', reference_layout='concat (width)')
    return converted
