"""Compare the full-resolution path (local affine colour transform) with bilinear upsampling.

    python tools/full_res_eval.py MODEL [--data-root data/samples] [--min-side 512]

MODEL is a zoo name (``harmony list``) or CONFIG[:CHECKPOINT]. Metrics are computed at each image's
native resolution against its real image (toolkit definitions otherwise).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from toolkit.apis import Harmonizer  # noqa: E402
from toolkit.apis.full_res_eval import compare_full_res  # noqa: E402
from toolkit.metrics import METRIC_NAMES  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('model')
    parser.add_argument('--data-root', default=os.path.join(os.path.dirname(__file__), '..', 'data', 'samples'))
    parser.add_argument('--min-side', type=int, default=512)
    parser.add_argument('--device', default=None)
    args = parser.parse_args()
    harmonizer = Harmonizer.from_pretrained(args.model, device=args.device)
    result = compare_full_res(harmonizer, args.data_root, min_side=args.min_side)
    table = Table(title=f'{args.model} at native resolution: ' + ', '.join(result['images']), title_justify='left')
    table.add_column('output')
    for name in METRIC_NAMES:
        table.add_column(name, justify='right')
    for row, values in result['results'].items():
        table.add_row(row, *(f'{values[name]:.4f}' if 'SSIM' in name else f'{values[name]:.2f}' for name in METRIC_NAMES))
    Console(width=150).print(table)


if __name__ == '__main__':
    main()
