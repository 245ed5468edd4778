"""The official RainNet checkpoint (``net_G_last.pth``, junleen/RainNet) → :class:`~plugins.baselines.RainNet`.

``tools/convert_checkpoint.py rainnet net_G_last.pth rainnet.safetensors`` (read with
``torch.load(weights_only=True)``: tensors only). The key table is read off the official code
(``../shared/reference``); every official key must map onto the model and every model key must be filled.
"""
from __future__ import annotations

from typing import Mapping, Optional

from torch import Tensor

from toolkit.checkpoint import read_released_state_dict, remap_state_dict, save_converted
from toolkit.registry import CHECKPOINT_CONVERTERS

from .rainnet import RainNet


def _official_prefixes() -> list[tuple[str, str]]:
    """(official key prefix, key prefix in :class:`RainNet`) pairs, most specific first."""
    block = 'unet_block'
    nested = [block, f'{block}.submodule', f'{block}.submodule.submodule']  # U-blocks A (outer), B, C (inner)
    innermost = f'{block}.submodule.submodule.submodule'
    # official Sequentials hold (activation, conv): their conv is entry ".1"
    pairs = [(f'{innermost}.up.1.', 'generator.innermost_down.'), (f'{innermost}.up.3.', 'generator.innermost_up.'),
             (f'{innermost}.upnorm.', 'generator.innermost_norm.')]
    for index, prefix in enumerate(nested):
        pairs.append((f'{prefix}.down.1.', f'generator.down_blocks.{index}.'))
        # up paths run inner → outer in the flat model: C is up_blocks.0, A is up_blocks.2
        pairs.append((f'{prefix}.up.1.', f'generator.up_blocks.{2 - index}.'))
        pairs.append((f'{prefix}.upnorm.', f'generator.up_norms.{2 - index}.'))
    pairs += [('model_layer0.', 'generator.enc0.'), ('model_layer1.1.', 'generator.enc1.'),
              ('model_layer2.1.', 'generator.enc2.'), ('model_layer3.1.', 'generator.enc3.'),
              ('model_out.1.', 'generator.out.')]
    for index, layer in enumerate(('model_layer11', 'model_layer12', 'model_layer13')):
        pairs += [(f'{layer}norm.', f'generator.decoder_norms.{index}.'),
                  (f'{layer}att.0.', f'generator.attention.{index}.'),
                  (f'{layer}.1.', f'generator.decoder.{index}.')]
    return sorted(pairs, key=lambda pair: -len(pair[0]))


def convert_official_rainnet_state_dict(official: Mapping[str, Tensor], model: Optional[RainNet] = None,
                                        source: str = 'checkpoint') -> dict[str, Tensor]:
    """Map an official RainNet generator state dict (``net_G_last.pth``) onto :class:`RainNet`.

    Args:
        official: the plain state dict (keys such as ``unet_block.submodule.up.1.weight``);
            a ``module.`` prefix from DataParallel is stripped.
        model: the target model (default ``RainNet()`` with the released configuration; pass
            ``RainNet(input_nc=4)`` for a 4-channel checkpoint).
        source: file name used in error messages.

    Returns:
        A state dict that ``model.load_state_dict(..., strict=True)`` accepts.

    Raises:
        KeyError: listing every official key with no counterpart, every model key left
            unfilled, and every shape mismatch.
    """
    model = model if model is not None else RainNet()
    expected = {key: value.shape for key, value in model.state_dict().items()}
    return remap_state_dict(official, expected, _official_prefixes(), source, 'RainNet model')


@CHECKPOINT_CONVERTERS.register_module('rainnet')
def convert_rainnet_checkpoint(source: str, destination: str, input_nc: int = 3) -> dict:
    """``net_G_last.pth`` → ``destination`` (``.safetensors``) for ``RainNet(input_nc=input_nc)``."""
    model = RainNet(input_nc=input_nc)
    converted = convert_official_rainnet_state_dict(read_released_state_dict(source), model, source=source)
    model.load_state_dict(converted, strict=True)
    save_converted(converted, destination, source, model='RainNet', input_nc=input_nc)
    return converted
