"""Would an ensemble do better if it moved less where its members disagree? The strength gate ``s = min(1, R / τ)``
(``R`` the members' agreement on the composite's change) scored on a dev set.

    python tools/agreement_gate.py ENSEMBLE --data-root data/real-dev --sweep docs/results/strength-sweep/real-dev.json
        [--thresholds 0.5 0.7 0.8 0.9] [--out gate.json]

--sweep is ``tools/strength_sweep.py ENSEMBLE --data-root DEV --out`` on the same data: its per-image quadratic gives
each image's fMSE at any strength exactly, so only the members run here (at the network's resolution). Printed beside
the sweep's uniform strengths, with Spearman's ρ between R and each image's best strength (the gate can only help
where they rank together). ``R`` needs no real image; the strength is not. Dev sets only
(toolkit/benchmark/strength_sweep.py: member_agreement, gated_rows, ensemble_agreement).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

DEFAULT_THRESHOLDS = (0.5, 0.7, 0.8, 0.9)


def _read_sweep(path: str, model: str, data_root: str) -> dict:
    from toolkit.benchmark.report import read_json
    sweep = read_json(path, ('model', 'data_root', 'per_image', 'rows'), 'a tools/strength_sweep.py --out result')
    if sweep['model'] != model:
        raise ValueError(f'{path}: a sweep of {sweep["model"]}, not of {model}')
    if os.path.realpath(sweep['data_root']) != os.path.realpath(data_root):
        raise ValueError(f'{path}: a sweep on {sweep["data_root"]}, not on {data_root}')
    return sweep


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('model', help='a zoo ensemble')
    parser.add_argument('--data-root', required=True)
    parser.add_argument('--sweep', required=True, help="tools/strength_sweep.py --out of the same model and data")
    parser.add_argument('--thresholds', type=float, nargs='+', help='τ values (default 0.5 0.7 0.8 0.9)')
    parser.add_argument('--out', help='write the rows and the per-image agreement as JSON')
    args = parser.parse_args(argv)
    from toolkit.benchmark.calibration import spearman
    from toolkit.benchmark.report import write_json
    from toolkit.benchmark.strength_sweep import ensemble_agreement, gated_rows
    from toolkit.datasets.io import HarmonizationDataError
    try:
        sweep = _read_sweep(args.sweep, args.model, args.data_root)
        agreement = ensemble_agreement(args.model, args.data_root)
        names = [row['name'] for row in sweep['per_image']]
        if names != list(agreement):
            raise ValueError(f'{args.sweep}: scored on other images than {args.data_root} holds now')
        gates = [agreement[name] for name in names]
        rows = gated_rows(sweep['per_image'], gates, args.thresholds or DEFAULT_THRESHOLDS)
    except (FileNotFoundError, ValueError, RuntimeError, KeyError, HarmonizationDataError) as error:
        sys.exit(f'error: {error}')
    images = len(names)
    rho = spearman(gates, [row['best_strength'] for row in sweep['per_image']])
    print(f'{args.model} on {args.data_root} ({images} images): agreement R mean {sum(gates) / images:.3f}; '
          f"Spearman's ρ(R, best strength) {rho:.2f}")
    print('| strength | mean strength | native fMSE | worse than input |\n|---|---:|---:|---:|')
    for row in sweep['rows']:
        print(f'| uniform {row["strength"]:g} | {row["strength"]:.2f} | {row["fMSE"]:.1f} | '
              f'{row["worse"]} of {images} |')
    for row in rows:
        print(f'| min(1, R / {row["threshold"]:g}) | {row["mean_strength"]:.2f} | {row["fMSE"]:.1f} | '
              f'{row["worse"]} of {images} |')
    if args.out:
        write_json(dict(model=args.model, data_root=args.data_root, sweep=args.sweep, spearman_best_strength=rho,
                        rows=rows, agreement=agreement), args.out)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
