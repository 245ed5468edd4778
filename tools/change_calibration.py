"""Does a model move each composite as far as it is off? Per bin of the composite's own fMSE: how far the model moves
it, the least-squares step along its change, the images made worse; and what shrinking its change would do.

    python tools/change_calibration.py MODEL --data-root data/bsds500-dev [--resolution 256] [--shrink 1 0.8 0.6]
        [--out calibration.json]

MODEL is a zoo name, a config name or CONFIG.py:CHECKPOINT (as tools/benchmark.py takes); the result names it as
tools/full_res_eval.py does (a config by its file name, or --name), so that the selection's chroma board and fMSE
boards name a model alike. A diagnostic for dev sets (toolkit/benchmark/calibration.py explains the quantities);
the selection reads its chroma shift (tools/select_default.py --chroma).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from toolkit.benchmark.calibration import DEFAULT_SHRINK, GREYER_BY, calibrate  # noqa: E402
from toolkit.datasets.io import HarmonizationDataError  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('model')
    parser.add_argument('--data-root', required=True, help='an iHarmony4-layout dataset (its test split is read)')
    parser.add_argument('--subsets', nargs='+')
    parser.add_argument('--resolution', type=int, default=256)
    parser.add_argument('--shrink', type=float, nargs='+', default=list(DEFAULT_SHRINK),
                        help='factors g: the fMSE of composite + g·change is reported for each')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--max-images', type=int)
    parser.add_argument('--out', help='write the per-image values and the summary as JSON')
    parser.add_argument('--name', help="the model's name in the result (default: the zoo name, or the config's name "
                                       'for CONFIG.py:CHECKPOINT)')
    args = parser.parse_args(argv)
    try:
        result = calibrate(args.model, args.data_root, args.resolution, args.subsets, sorted(set(args.shrink) | {1.0},
                                                                                           reverse=True),
                           device=args.device, max_images=args.max_images)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError, HarmonizationDataError) as error:
        sys.exit(f'error: {error}')
    from toolkit.benchmark.models import model_name
    result['model'] = args.name or model_name(args.model)
    summary = result['summary']
    console = Console(width=150)
    table = Table(title=f'{result["model"]} on {args.data_root} ({summary["N"]} images, {args.resolution}²): '
                        f'Spearman ρ(change, input fMSE) = {summary["spearman_change_vs_input"]:.2f}',
                  title_justify='left')
    for column in ('input fMSE bin', 'N', 'input fMSE', 'change', 'median step', 'fMSE', 'worse'):
        table.add_column(column, justify='left' if column == 'input fMSE bin' else 'right')
    for label, row in summary['bins'].items():
        if row['N']:
            table.add_row(label, str(row['N']), f'{row["input_fMSE"]:.1f}', f'{row["change"]:.1f}',
                          f'{row["median_step"]:.2f}', f'{row["fMSE"]:.1f}', str(row['worse']))
    console.print(table)
    shrink = Table(title='shrinking the change: composite + g·(output − composite)', title_justify='left')
    for column in ('g', 'fMSE', 'worse than input'):
        shrink.add_column(column, justify='right')
    for factor, row in summary['shrink'].items():
        shrink.add_row(f'{factor:g}', f'{row["fMSE"]:.1f}', f'{row["worse"]} of {summary["N"]}')
    console.print(shrink)
    chroma = summary['chroma_shift']
    console.print(f'foreground chroma against the real object\'s (CIELAB; negative = greyer): composite '
                  f'{chroma["input"]["mean"]:+.1f} ({chroma["input"]["greyer_by_5"]} of {summary["N"]} greyer by > '
                  f'{GREYER_BY:g}), output {chroma["output"]["mean"]:+.1f} ({chroma["output"]["greyer_by_5"]} greyer '
                  f'by > {GREYER_BY:g})')
    if args.out:
        if os.path.abspath(args.out) == os.path.abspath(args.data_root):
            sys.exit('error: --out would overwrite the data root')
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(result, handle, indent=1, default=float)
        console.print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
