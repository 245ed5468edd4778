"""Score an ensemble for each choice of its weights on a dev set: native fMSE, images made worse, chroma shift.

    python tools/ensemble_sweep.py MODEL_A MODEL_B --data-root data/real-dev [--weights 0.5 0.6 0.7 0.8]
        [--colour-mean rgb|chroma] [--out sweep.json]
    python tools/ensemble_sweep.py MODEL_A MODEL_B MODEL_C --data-root data/real-dev \
        --weights 0.5,0.25,0.25 0.4,0.3,0.3

With two models a single number is MODEL_A's weight (MODEL_B gets 1 − w); otherwise each grid point is one weight
per model, comma-separated, summing to 1. MODEL is a zoo name or CONFIG.py:CHECKPOINT. The quantities are the
selection's (toolkit/benchmark/ensemble_sweep.py): native fMSE through the full-resolution path, and the 256²
foreground chroma against the real objects, each averaged per subset then over subsets. Dev sets only.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def _grid_point(text: str):
    """``0.6`` → 0.6 (two models: (0.6, 0.4)); ``0.5,0.25,0.25`` → (0.5, 0.25, 0.25)."""
    try:
        values = tuple(float(part) for part in text.split(','))
    except ValueError:
        raise argparse.ArgumentTypeError(f'{text!r} is not a weight or a comma-separated list of weights') from None
    return values[0] if len(values) == 1 else values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('models', nargs='+', help='two zoo models or more')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--weights', type=_grid_point, nargs='+',
                        help="grid points: the first model's weight (two models) or W1,W2,... (one per model)")
    parser.add_argument('--colour-mean', default='rgb', choices=('rgb', 'chroma'),
                        help="the ensemble's colour_mean: the plain RGB mean or the chroma-preserving one")
    parser.add_argument('--out', help='write the result as JSON')
    args = parser.parse_args(argv)
    from toolkit.benchmark.ensemble_sweep import DEFAULT_WEIGHTS, sweep_ensemble_weights
    from toolkit.datasets.io import HarmonizationDataError
    try:
        result = sweep_ensemble_weights(args.models, args.data_root, args.weights or DEFAULT_WEIGHTS,
                                        args.colour_mean)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError, HarmonizationDataError) as error:
        sys.exit(f'error: {error}')
    print(f'{" + ".join(args.models)}, {args.colour_mean} mean, on {args.data_root} ({result["images"]} images); '
          f'input fMSE {result["input_fMSE"]:.1f}')
    print('| weights | native fMSE | worse than input | chroma shift (256²) |\n|---|---:|---:|---:|')
    for row in result['rows']:
        print(f'| {" / ".join(f"{w:g}" for w in row["weights"])} | {row["fMSE"]:.1f} | {row["worse"]} of '
              f'{result["images"]} | {row["chroma_shift"]:+.2f} |')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(result, handle, indent=1)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
