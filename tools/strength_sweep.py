"""Score a model at each strength (``harmony harmonize --strength``) on a dev set: native fMSE, fSSIM, images worse.

    python tools/strength_sweep.py MODEL --data-root data/real-dev [--strengths 0.6 0.7 0.8 0.9 1.0] [--out sweep.json]

MODEL is a zoo name. The network runs once per image; each strength is the Harmonizer's output at that strength, bit
for bit, scored at the image's own size and averaged per subset then over subsets, as the selection's native boards
are. The last row is a bound, not a setting: each image at its own best strength (it needs the real image). The
JSON keeps per image the size of the predicted change, to judge a gate on it. Dev sets only
(toolkit/benchmark/strength_sweep.py).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('model')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--strengths', type=float, nargs='+', help='the grid (default 0.6 0.7 0.8 0.9 1.0)')
    parser.add_argument('--out', help='write the result, per-image values included, as JSON')
    args = parser.parse_args(argv)
    from toolkit.benchmark.report import write_json
    from toolkit.benchmark.strength_sweep import DEFAULT_STRENGTHS, sweep_strengths
    from toolkit.datasets.io import HarmonizationDataError
    try:
        result = sweep_strengths(args.model, args.data_root, args.strengths or DEFAULT_STRENGTHS)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError, HarmonizationDataError) as error:
        sys.exit(f'error: {error}')
    images = result['images']
    print(f'{args.model} on {args.data_root} ({images} images); input fMSE {result["input_fMSE"]:.1f}, '
          f'fSSIM {result["input_fSSIM"]:.4f}')
    print('| strength | native fMSE | worse than input | native fSSIM |\n|---|---:|---:|---:|')
    for row in result['rows']:
        print(f'| {row["strength"]:g} | {row["fMSE"]:.1f} | {row["worse"]} of {images} | {row["fSSIM"]:.4f} |')
    best = result['best_per_image']
    print(f'| each image at its best strength (a bound; mean {best["mean_strength"]:.2f}) | {best["fMSE"]:.1f} | '
          f'{best["worse"]} of {images} | — |')
    if args.out:
        write_json(result, args.out)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
