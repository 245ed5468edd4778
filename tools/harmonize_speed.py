"""Time and peak memory of `harmony harmonize`: per image size, start-up, and a folder run on a busy machine.

    python tools/harmonize_speed.py [--model NAME] [--sizes 256x256 4992x3328 8000x8000] [--threads N]
                                    [--startup] [--folder] [--busy 0 2] [--runs 3] [--out speed.json]

Per size (one fresh process each): start-up (imports + model), reading, the network at its resolution, the
full-resolution step, writing, and the process's peak resident memory (toolkit.benchmark.harmonize_speed).
--startup: wall time of `harmony --help`, `harmony list` and a whole `harmony harmonize` call on 256x256.
--folder: a 10-image folder (4992x3328 down to 256x256) with the CLI's own thread choice and with
OMP_NUM_THREADS=1, idle and beside --busy CPU-bound processes (the median of --runs runs each).
Without --model the zoo's default model is measured.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main():
    parser = argparse.ArgumentParser(description='harmony harmonize: time and peak memory')
    parser.add_argument('--model', default=None, help='zoo name (default: the zoo\'s default model)')
    parser.add_argument('--sizes', nargs='*', default=['256x256', '1024x768', '2048x1536', '4992x3328', '8000x8000'])
    parser.add_argument('--threads', type=int, help='threads in each measuring process (default: as the CLI)')
    parser.add_argument('--no-full-res', action='store_true', help='measure bilinear upsampling instead')
    parser.add_argument('--startup', action='store_true', help='also time --help, list and a 256x256 call')
    parser.add_argument('--folder', action='store_true', help='also the 10-image folder run, idle and loaded')
    parser.add_argument('--busy', nargs='+', type=int, default=[0, 2], help='CPU-bound processes beside --folder')
    parser.add_argument('--runs', type=int, default=3)
    parser.add_argument('--out', help='write the rows as JSON')
    args = parser.parse_args()

    from toolkit.benchmark.harmonize_speed import folder_under_load, measure, startup
    from toolkit.zoo import default_model_name
    model = args.model or default_model_name()
    result = dict(model=model, cpu_count=os.cpu_count())
    if args.sizes:
        sizes = [tuple(int(v) for v in size.lower().split('x')) for size in args.sizes]
        rows = measure(model, sizes, full_res=not args.no_full_res, threads=args.threads)
        print(f'{model}, {"full-resolution transfer" if not args.no_full_res else "bilinear upsampling"}, '
              f'{rows[0]["threads"]} torch threads\n')
        print('| image | MP | start-up s | read s | model s | full-res s | write s | total s (no start-up) | peak MB |')
        print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
        for row in rows:
            total = row['read_s'] + row['model_s'] + row['full_res_s'] + row['write_s']
            print(f"| {row['width']}×{row['height']} | {row['megapixels']:.1f} | {row['startup_s']:.2f} | "
                  f"{row['read_s']:.2f} | {row['model_s']:.2f} | {row['full_res_s']:.2f} | {row['write_s']:.2f} | "
                  f"{total:.2f} | {row['peak_rss_mb']:.0f} |")
        result['rows'] = rows
    if args.startup:
        result['startup'] = startup(args.model, args.runs)
        timing = result['startup']
        print(f"\n`harmony --help` {timing['help_s']:.2f} s, `harmony list` {timing['list_s']:.2f} s, "
              f"`harmony harmonize` 256×256 (whole call) {timing['harmonize_256_s']:.2f} s "
              f'(median of {args.runs})')
    if args.folder:
        result['folder'] = folder_under_load(args.model, args.busy, args.runs)
        print('\n| busy processes | threads | 10-image folder, median s | / OMP_NUM_THREADS=1 |')
        print('|---:|---|---:|---:|')
        for row in result['folder']:
            print(f"| {row['busy_processes']} | {row['threads']} | {row['median_s']:.2f} | "
                  f"{row['ratio_to_one_thread']:.2f} |")
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(result, handle, indent=1)


if __name__ == '__main__':
    main()
