"""Compare the full-resolution path (colour transform) with bilinear upsampling, at each image's native resolution.

    python tools/full_res_eval.py MODEL [--data-root data/samples] [--subsets HAdobe5k ...] [--min-side 512]
        [--strength 1.0] [--size 256] [--radius 2] [--eps 1e-3] [--out results.json]
    python tools/full_res_eval.py --oracle [--data-root ...] [--radius 2] [--eps 1e-3] [--out floor.json]

MODEL is a zoo name (``harmony list``) or CONFIG.py:CHECKPOINT; the results name it by its zoo name, by its config's
name (what ``tools/publish.py`` would call it, so that a board of such files compares it with the zoo's models), or
by --name. Metrics are computed at each image's native resolution against its real image (toolkit definitions
otherwise), streaming one image at a time in bounded memory. --strength applies that fraction of the model's change
(``harmony harmonize --strength``); the results then name the model ``NAME_strength-0p8`` unless --name. --size
resizes every triplet to SIZE×SIZE first (the field's 256²): at the network's own size "bilinear upsampling" is the
network's output as is and "full-resolution transfer" its colour change carried onto the composite, what ``harmony
harmonize`` gives. --oracle runs no model: the real image at the network's size (256²) stands for the network's
output and is carried by the same path (``Harmonizer.carry``), so "full-resolution transfer" is the colour fit's own
floor (what a network exact at 256² would still get) and "bilinear upsampling" the floor of plain upsampling; the
results are named ``oracle`` and no board takes them as a model.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from toolkit.apis import Harmonizer  # noqa: E402
from toolkit.apis.full_res_eval import compare_full_res  # noqa: E402
from toolkit.apis.harmonizer import strength_suffix  # noqa: E402
from toolkit.benchmark.models import model_name  # noqa: E402
from toolkit.benchmark.report import write_json  # noqa: E402
from toolkit.metrics import METRIC_NAMES  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('model', nargs='?', help='zoo name or CONFIG.py:CHECKPOINT (not with --oracle)')
    parser.add_argument('--oracle', action='store_true',
                        help="run no model: carry the real image at the network's size (the path's own floor)")
    parser.add_argument('--data-root', default=os.path.join(os.path.dirname(__file__), '..', 'data', 'samples'))
    parser.add_argument('--subsets', nargs='+', help='subset folders (default: all in the test split)')
    parser.add_argument('--min-side', type=int, default=512)
    parser.add_argument('--radius', type=int, help="the colour fit's local window radius (default: the Harmonizer's)")
    parser.add_argument('--eps', type=float, help="the colour fit's ridge regularisation (default: the Harmonizer's)")
    parser.add_argument('--size', type=int, help='resize every triplet to SIZE x SIZE first (e.g. 256, the '
                                                 "field's evaluation size): what harmony harmonize gives there")
    parser.add_argument('--device', default=None)
    parser.add_argument('--out', help='write the results (means and per-image values) as JSON')
    parser.add_argument('--strength', type=float, default=1.0,
                        help="fraction of the model's change to apply, as harmony harmonize --strength")
    parser.add_argument('--name', help="the model's name in the results (default: the zoo name, or the config's name "
                                       'for CONFIG.py:CHECKPOINT)')
    args = parser.parse_args(argv)
    if bool(args.model) == args.oracle:
        parser.error('give MODEL, or --oracle (which runs no model), not both' if args.oracle else 'MODEL is required')
    console = Console(width=150)
    try:
        fit = {key: value for key, value in (('radius', args.radius), ('eps', args.eps)) if value is not None}
        # --oracle: copy-paste only gives the Harmonizer its resolution; it is never run
        harmonizer = Harmonizer.from_pretrained(args.model or 'copy-paste', device=args.device,
                                                strength=args.strength, **fit)
        with console.status('harmonizing') as status:
            result = compare_full_res(harmonizer, args.data_root, subsets=args.subsets, min_side=args.min_side,
                                      progress=lambda name: status.update(f'harmonizing {name}'), size=args.size,
                                      oracle=args.oracle)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError) as error:
        sys.exit(f'error: {error}')
    if not result['images']:
        sys.exit(f'error: no test image of {args.data_root} has a shorter side of at least {args.min_side} px')
    where = f'at {args.size}x{args.size}' if args.size else 'at native resolution'
    title = args.model or 'oracle (the real image carried)'
    table = Table(title=f'{title} {where}: ' + ', '.join(result['images']), title_justify='left')
    table.add_column('output')
    for name in METRIC_NAMES:
        table.add_column(name, justify='right')
    for row, values in result['results'].items():
        table.add_row(row, *(f'{values[name]:.4f}' if 'SSIM' in name else f'{values[name]:.2f}'
                             for name in METRIC_NAMES))
    console.print(table)
    if args.out:
        result['model'] = args.name or ('oracle' if args.oracle else model_name(args.model)) + \
            strength_suffix(harmonizer.strength)
        result['strength'] = args.strength
        result.update(radius=harmonizer.radius, eps=harmonizer.eps)
        write_json(result, args.out)
        console.print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
