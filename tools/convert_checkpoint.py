"""Convert an official checkpoint into a HarmonyZoo ``.safetensors`` state dict.

    python tools/convert_checkpoint.py rainnet net_G_last.pth rainnet.safetensors [--input-nc 3]
    python tools/convert_checkpoint.py raiha 60_net_G.pth raiha_generator.safetensors
    python tools/convert_checkpoint.py dvt-denoiser reg4_v1.pth dvt_denoiser.safetensors

The source is read with ``torch.load(weights_only=True)`` (plain state dicts only; nothing
is unpickled beyond tensors). Every official key must map onto the model and every model
key must be filled, with matching shapes, or the tool stops and lists the differences.
The result loads with ``load_from = 'rainnet.safetensors'`` or ``tools/test.py CONFIG rainnet.safetensors``.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def convert_rainnet(source: str, destination: str, input_nc: int = 3) -> dict:
    import torch
    from safetensors.torch import save_file

    from plugins.baselines.rainnet import RainNet, convert_official_rainnet_state_dict
    official = torch.load(source, map_location='cpu', weights_only=True)
    if isinstance(official, dict) and 'state_dict' in official and isinstance(official['state_dict'], dict):
        official = official['state_dict']
    model = RainNet(input_nc=input_nc)
    converted = convert_official_rainnet_state_dict(official, model, source=source)
    model.load_state_dict(converted, strict=True)
    save_file({key: value.contiguous() for key, value in converted.items()}, destination,
              metadata={'format': 'pt', 'model': 'RainNet', 'input_nc': str(input_nc),
                        'converted_from': os.path.basename(source)})
    return converted


def _read_official(source: str) -> dict:
    import torch
    official = torch.load(source, map_location='cpu', weights_only=True)
    if isinstance(official, dict) and isinstance(official.get('state_dict'), dict):
        official = official['state_dict']
    return official


def convert_raiha(source: str, destination: str, input_nc: int = 3) -> dict:
    """The released Raiha generator → the ``generator.*`` keys of ``RaihaHarmonizer`` (ngf 32, 768-d content)."""
    from safetensors.torch import save_file

    from plugins.raiha import RaihaUNet
    from plugins.raiha.convert import convert_released_rhnet_state_dict
    generator = RaihaUNet()
    converted = convert_released_rhnet_state_dict(_read_official(source), generator, source=source)
    generator.load_state_dict(converted, strict=True)
    # the model's state dict lists a shared SGF projection under both names; safetensors stores each tensor once
    state = {f'generator.{key}': value.contiguous().clone() for key, value in converted.items()}
    save_file(state, destination, metadata={'format': 'pt', 'model': 'RaihaHarmonizer', 'converted_from':
                                            os.path.basename(source), 'reference_layout': 'concat (width)'})
    return converted


def convert_dvt_denoiser(source: str, destination: str, input_nc: int = 3) -> dict:
    """The released DVT denoiser (``reg4_v1.pth``) → ``DVTDenoiser`` (for ``denoiser=dict(weights=dict(path=...))``)."""
    from safetensors.torch import save_file

    from toolkit.retrieval.encoders import DVTDenoiser, convert_dvt_denoiser_state_dict
    denoiser = DVTDenoiser()
    converted = convert_dvt_denoiser_state_dict(_read_official(source), denoiser, source=source)
    denoiser.load_state_dict(converted, strict=True)
    save_file({key: value.contiguous() for key, value in converted.items()}, destination,
              metadata={'format': 'pt', 'model': 'DVTDenoiser', 'converted_from': os.path.basename(source)})
    return converted


CONVERTERS = {'rainnet': convert_rainnet, 'raiha': convert_raiha, 'dvt-denoiser': convert_dvt_denoiser}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('method', choices=sorted(CONVERTERS))
    parser.add_argument('source', help='official checkpoint (.pth)')
    parser.add_argument('destination', help='output .safetensors file')
    parser.add_argument('--input-nc', type=int, default=3, help='RainNet input channels (3 released, 4 with mask)')
    args = parser.parse_args()
    if not os.path.isfile(args.source):
        parser.exit(2, f'error: {args.source} does not exist\n')
    try:
        converted = CONVERTERS[args.method](args.source, args.destination, args.input_nc)
    except KeyError as error:
        parser.exit(1, f'error: {error.args[0]}\n')
    count = sum(value.numel() for value in converted.values())
    print(f'wrote {args.destination}: {len(converted)} tensors, {count:,} parameters')


if __name__ == '__main__':
    main()
