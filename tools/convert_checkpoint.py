"""Convert an official checkpoint into a HarmonyZoo ``.safetensors`` state dict.

    python tools/convert_checkpoint.py rainnet net_G_last.pth rainnet.safetensors [--input-nc 3]
    python tools/convert_checkpoint.py raiha 60_net_G.pth raiha_generator.safetensors
    python tools/convert_checkpoint.py dvt-denoiser reg4_v1.pth dvt_denoiser.safetensors

The source is read with ``torch.load(weights_only=True)`` (plain state dicts only; nothing
is unpickled beyond tensors). Every official key must map onto the model and every model
key must be filled, with matching shapes, or the tool stops and lists the differences.
The result loads with ``load_from = 'rainnet.safetensors'`` or ``tools/test.py CONFIG rainnet.safetensors``.
Each family keeps its converter in its own ``convert.py`` (registered in ``toolkit.registry.CHECKPOINT_CONVERTERS``);
this tool only dispatches.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main():
    from toolkit.registry import CHECKPOINT_CONVERTERS
    from toolkit.setup_env import register_all_modules
    register_all_modules()  # the families register their converters (each in its own convert.py)
    CHECKPOINT_CONVERTERS.import_from_location()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('method', choices=sorted(CHECKPOINT_CONVERTERS.module_dict))
    parser.add_argument('source', help='official checkpoint (.pth)')
    parser.add_argument('destination', help='output .safetensors file')
    parser.add_argument('--input-nc', type=int, default=None, help='RainNet input channels (3 released, 4 with mask)')
    args = parser.parse_args()
    if not os.path.isfile(args.source):
        parser.exit(2, f'error: {args.source} does not exist\n')
    options = {} if args.input_nc is None else dict(input_nc=args.input_nc)
    try:
        converted = CHECKPOINT_CONVERTERS.get(args.method)(args.source, args.destination, **options)
    except (KeyError, TypeError) as error:
        parser.exit(1, f'error: {error.args[0]}\n')
    count = sum(value.numel() for value in converted.values())
    print(f'wrote {args.destination}: {len(converted)} tensors, {count:,} parameters')


if __name__ == '__main__':
    main()
