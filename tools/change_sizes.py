"""Distribution of change sizes (composite vs real MSE at 256×256) of iHarmony4-layout datasets, next to
iHarmony4's published composite rows.

    python tools/change_sizes.py data/bsds500 data/lalonde-efros [--split train] [--max-images N] [--out F.json]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('roots', nargs='+')
    parser.add_argument('--split', default='train')
    parser.add_argument('--max-images', type=int)
    parser.add_argument('--out')
    args = parser.parse_args(argv)
    from toolkit.datasets.change_stats import CHANGE_BINS, IHARMONY4_COMPOSITE_MSE, composite_changes, summarize_changes
    edges = [f'{low:g}–{high:g}' if high != float('inf') else f'≥{low:g}' for low, high in
             zip(CHANGE_BINS[:-1], CHANGE_BINS[1:])]
    edges[0] = '0 (unchanged)'
    print('| dataset / subset | N | mean MSE | unchanged | quartiles | ' + ' | '.join(edges) + ' |')
    print('|---|---:|---:|---:|---|' + '---:|' * len(edges))
    result = {}
    for root in args.roots:
        summary = summarize_changes(composite_changes(root, args.split, max_images=args.max_images))
        result[root] = summary
        for name, row in summary.items():
            shares = ' | '.join(f'{100 * count / max(1, row["N"]):.0f} %' for count in row['histogram'])
            print(f'| {os.path.basename(root.rstrip("/"))} / {name} | {row["N"]} | {row["mean"]:.1f} | '
                  f'{100 * row["unchanged"]:.0f} % | {", ".join(f"{q:.0f}" for q in row["quartiles"])} | {shares} |')
    print('| iHarmony4 test composites (DoveNet Table 1) | | ' + ', '.join(
        f'{name} {value:g}' for name, value in IHARMONY4_COMPOSITE_MSE.items()) + ' | | |' + ' |' * len(edges))
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(result, handle, indent=1)


if __name__ == '__main__':
    main()
