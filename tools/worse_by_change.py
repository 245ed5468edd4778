"""Where a model makes composites worse: the images of native boards grouped by how far off the composite was.

    python tools/worse_by_change.py docs/results/native-bsds500-dev/MODEL.json [MORE.json …] \\
        [--edges 100 300 1000 3000] [--out bins.json]

Each file is a ``tools/full_res_eval.py --out`` result (what ``harmony harmonize`` gives, each image at its own size).
A board's "made worse" count mixes composites far off that a model moves the wrong way with composites already close
to their real image that any imprecise change spoils; the bins of the input's own fMSE tell them apart, with the
leaderboards' bins and rule (``toolkit.benchmark.runner.by_input_error``). It reads results and chooses nothing.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def _records(path: str) -> tuple:
    """``(result, model records, input records)`` of one result file, as ``by_input_error`` reads them."""
    from toolkit.benchmark.report import read_json
    from toolkit.benchmark.selection import HARMONIZE_OUTPUT
    result = read_json(path, ('model', 'per_image'), 'a tools/full_res_eval.py --out result')
    try:
        outputs = [dict(name=row['name'], fMSE=row[HARMONIZE_OUTPUT]['fMSE']) for row in result['per_image']]
        inputs = [dict(name=row['name'], fMSE=row['input composite']['fMSE']) for row in result['per_image']]
    except (KeyError, TypeError) as error:
        raise ValueError(f'{path}: a per-image row lacks {error}') from None
    return result, outputs, inputs


def _cell(value) -> str:
    return '—' if value is None else f'{value:.1f}'


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('results', nargs='+', help='tools/full_res_eval.py --out JSON files')
    parser.add_argument('--edges', type=float, nargs='+', help='inner bin edges (default: the leaderboards\')')
    parser.add_argument('--out', help='write the bins of every file as JSON')
    args = parser.parse_args(argv)
    from toolkit.benchmark.runner import INPUT_ERROR_EDGES, by_input_error
    edges = args.edges or INPUT_ERROR_EDGES
    if any(edge <= 0 for edge in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        sys.exit(f'error: --edges must be positive and increasing, got {" ".join(f"{e:g}" for e in edges)}')
    tables = {}
    try:
        for path in args.results:
            result, outputs, inputs = _records(path)
            tables[path] = dict(model=result['model'], data_root=result.get('data_root'),
                                bins=by_input_error(outputs, inputs, edges))
    except ValueError as error:
        sys.exit(f'error: {error}')
    for table in tables.values():
        bins = table['bins'].values()
        print(f'\n{table["model"]} on {table["data_root"]}: {sum(b.get("worse", 0) for b in bins)} of '
              f'{sum(b["N"] for b in bins)} made worse')
        print('| input fMSE | images | made worse | input mean fMSE | output mean fMSE |\n|---|---:|---:|---:|---:|')
        for label, row in table['bins'].items():
            print(f'| {label} | {row["N"]} | {row.get("worse", 0)} | {_cell(row.get("input_fMSE"))} | '
                  f'{_cell(row.get("fMSE"))} |')
    if args.out:
        from toolkit.benchmark.report import write_json
        write_json(tables, args.out)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
