"""Leaderboards of harmonization quality and efficiency.

    python tools/benchmark.py MODEL [MODEL ...] --data-root data/iHarmony4 [--subsets HCOCO HFlickr]
        [--resolution 256] [--profile toolkit] [--out-dir work_dirs/benchmark] [--device auto]
        [--no-quality | --no-efficiency] [--compare OLD.json]

MODEL is CONFIG[:CHECKPOINT] (``:none`` or nothing for a model without weights) or a config name
under configs/ (``reinhard-lab``). Per-image results are cached (``<out-dir>/cache``): an interrupted
run continues where it stopped, and adding a model computes only that model. See docs/benchmark.md.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.benchmark import run_benchmark  # noqa: E402
from toolkit.metrics import METRIC_PROFILES  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='HarmonyZoo leaderboard: quality and efficiency',
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('models', nargs='+', help='CONFIG[:CHECKPOINT] or config names')
    parser.add_argument('--data-root', help='iHarmony4-layout dataset root (its test split is used)')
    parser.add_argument('--subsets', nargs='+', help='subset folders to evaluate (default: all in the split)')
    parser.add_argument('--references', help='RAHarmony4 JSONL (relative to --data-root) for reference-based models')
    parser.add_argument('--reference-composites', choices=['with-references', 'all'], default='with-references',
                        help='with --references: the composites that have one (the RAHarmony4 protocol, reported '
                             'apart from the full test set) or every listed composite')
    parser.add_argument('--reference-runs', type=int, default=5,
                        help='with --references: seeded runs, each drawing one random reference per composite')
    parser.add_argument('--resolution', type=int, default=256, help='evaluation size (straight resize)')
    parser.add_argument('--profile', default='toolkit', choices=sorted(METRIC_PROFILES), help='metric profile')
    parser.add_argument('--out-dir', default='work_dirs/benchmark')
    parser.add_argument('--cache-dir', help='per-image result cache (default <out-dir>/cache)')
    parser.add_argument('--device', default='auto', help="'auto', 'cpu', 'cuda' or 'cuda:N'")
    parser.add_argument('--batch-size', type=int, default=8, help='batch size of the quality pass')
    parser.add_argument('--num-workers', type=int, default=2, help='data loading workers')
    parser.add_argument('--max-images', type=int, help='only the first N images (quick look)')
    parser.add_argument('--no-quality', dest='quality', action='store_false', help='skip the quality pass')
    parser.add_argument('--no-efficiency', dest='efficiency', action='store_false', help='skip timing and FLOPs')
    parser.add_argument('--flops-resolutions', type=int, nargs='+', default=[256, 1024])
    parser.add_argument('--latency-batches', type=int, nargs='+', default=[1, 8])
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--repeats', type=int, default=10)
    parser.add_argument('--compare', help='an earlier leaderboard.json: print the changes')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    try:
        run_benchmark(args.models, args.data_root, args.out_dir, subsets=args.subsets, resolution=args.resolution,
                      profile=args.profile, cache_dir=args.cache_dir, device=args.device, batch_size=args.batch_size,
                      num_workers=args.num_workers, quality=args.quality, efficiency=args.efficiency,
                      flops_resolutions=args.flops_resolutions, latency_batches=args.latency_batches,
                      warmup=args.warmup, repeats=args.repeats, max_images=args.max_images,
                      compare_with=args.compare, references=args.references, reference_runs=args.reference_runs,
                      reference_composites=args.reference_composites)
    except (FileNotFoundError, ValueError, RuntimeError) as error:
        sys.exit(f'error: {error}')
    except KeyboardInterrupt:
        sys.exit('interrupted: finished images are cached; run the same command again to continue')


if __name__ == '__main__':
    main()
