"""Time and peak memory of `harmony harmonize` vs image size, one fresh process per measurement.

    python tools/harmonize_speed.py [--model reinhard-lab] [--sizes 256x256 2048x1536 4992x3328 8000x8000]
                                    [--threads 2] [--startup] [--out speed.json]

Per size: start-up (imports + model), reading, the network at its resolution, the full-resolution step, writing,
and the process's peak resident memory (toolkit.benchmark.harmonize_speed). With --startup also the wall time of
`harmony --version` and of a whole `harmony harmonize` call on a 256x256 image (median of 3 runs each).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def _wall(command: list, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description='harmony harmonize: time and peak memory vs image size')
    parser.add_argument('--model', default='reinhard-lab')
    parser.add_argument('--sizes', nargs='+', default=['256x256', '1024x768', '2048x1536', '4992x3328', '8000x8000'])
    parser.add_argument('--threads', type=int, help='torch threads in each measuring process')
    parser.add_argument('--no-full-res', action='store_true', help='measure bilinear upsampling instead')
    parser.add_argument('--startup', action='store_true', help='also time `harmony --version` and a 256x256 call')
    parser.add_argument('--out', help='write the rows as JSON')
    args = parser.parse_args()

    from toolkit.benchmark.harmonize_speed import measure, synthetic_composite
    sizes = [tuple(int(v) for v in size.lower().split('x')) for size in args.sizes]
    rows = measure(args.model, sizes, full_res=not args.no_full_res, threads=args.threads)
    print(f'{args.model}, {"full-resolution transfer" if not args.no_full_res else "bilinear upsampling"}, '
          f'{rows[0]["threads"]} torch threads\n')
    print('| image | MP | start-up s | read s | model s | full-res s | write s | total s (no start-up) | peak MB |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for row in rows:
        total = row['read_s'] + row['model_s'] + row['full_res_s'] + row['write_s']
        print(f"| {row['width']}×{row['height']} | {row['megapixels']:.1f} | {row['startup_s']:.2f} | "
              f"{row['read_s']:.2f} | {row['model_s']:.2f} | {row['full_res_s']:.2f} | {row['write_s']:.2f} | "
              f"{total:.2f} | {row['peak_rss_mb']:.0f} |")
    result = dict(model=args.model, rows=rows)
    if args.startup:
        harmony = [sys.executable, '-m', 'toolkit.cli']
        with tempfile.TemporaryDirectory() as work:
            image, mask = synthetic_composite(work, 256, 256)
            version = _wall(harmony + ['--version'])
            call = _wall(harmony + ['harmonize', '-m', args.model, image, mask, '-o', os.path.join(work, 'o.png'),
                                    '--overwrite'])
        result.update(version_s=version, harmonize_256_s=call)
        print(f'\n`harmony --version`: {version:.2f} s; `harmony harmonize -m {args.model}` on 256×256, whole call: '
              f'{call:.2f} s (median of 3)')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(result, handle, indent=1)


if __name__ == '__main__':
    main()
