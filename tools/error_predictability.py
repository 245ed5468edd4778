"""How much do a composite's colour statistics say about how far off it is? A regressor from the colour-curve model's
input statistics to the composite's own fMSE, fitted on training composites and scored (Spearman) on dev sets —
toolkit/benchmark/predictability.py.

    OMP_NUM_THREADS=1 python tools/error_predictability.py --train data/lalonde-efros-matched data/bsds500 \\
        --dev data/bsds500-dev data/real-dev [--every 2] [--band-width 2] [--out probe.json]

Feature sets: the whole-region statistics the colour-curve model reads (``color_statistics``: foreground and
background means, deviations, histograms, areas), the boundary-band statistics (``boundary_statistics``), and both.
Dev data only: the evaluation data (data/samples, ../shared/data/triplets) is refused.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def _correlation(predict, features, errors) -> float:
    """Spearman's ρ between predicted and true errors; composites without a foreground have no error to predict."""
    import torch

    from toolkit.benchmark.predictability import spearman
    known = torch.isfinite(errors)
    return spearman(predict(features[known]).tolist(), errors[known].tolist())


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--train', nargs='+', required=True, help='iHarmony4-layout roots (their train split)')
    parser.add_argument('--dev', nargs='+', required=True, help='iHarmony4-layout roots (their test split)')
    parser.add_argument('--resolution', type=int, default=256)
    parser.add_argument('--every', type=int, default=1, help='keep every n-th training composite')
    parser.add_argument('--band-width', type=int, default=2)
    parser.add_argument('--steps', type=int, default=3000)
    parser.add_argument('--out', help='write the correlations as JSON')
    args = parser.parse_args(argv)

    import torch

    from plugins.colorcurves.colorcurves import boundary_statistics, color_statistics
    from toolkit.benchmark.predictability import composite_errors_and_features, fit_error_regressor
    from toolkit.benchmark.selection import is_evaluation_data
    from toolkit.datasets.io import HarmonizationDataError
    for root in args.train + args.dev:
        if is_evaluation_data(os.path.abspath(root)):
            sys.exit(f'error: {root}: evaluation data; this probe reads training and dev sets only')
    torch.set_num_threads(int(os.environ.get('OMP_NUM_THREADS', '1')))

    def features(image, mask):
        return torch.cat([color_statistics(image, mask), boundary_statistics(image, mask, args.band_width)], 1)

    whole = color_statistics(torch.zeros(1, 3, 8, 8), torch.ones(1, 1, 8, 8)).shape[1]
    total = features(torch.zeros(1, 3, 8, 8), torch.ones(1, 1, 8, 8)).shape[1]
    sets = {'whole-region statistics': slice(0, whole), 'boundary bands': slice(whole, total),
            'both': slice(0, total)}
    try:
        train = [composite_errors_and_features(root, 'train', features, args.resolution, args.every)
                 for root in args.train]
        dev = {root: composite_errors_and_features(root, 'test', features, args.resolution) for root in args.dev}
    except HarmonizationDataError as error:
        sys.exit(f'error: {error}')
    train_features = torch.cat([part[0] for part in train])
    train_errors = torch.cat([part[1] for part in train])
    unchanged = float((train_errors < 1).double().mean())
    print(f'{len(train_errors)} training composites ({unchanged:.0%} unchanged), resolution {args.resolution}²')
    results = dict(train=args.train, dev=args.dev, resolution=args.resolution, every=args.every,
                   band_width=args.band_width, train_composites=len(train_errors), correlations={})
    header = f'{"features":<26}{"in-sample":>10}' + ''.join(f'{os.path.basename(root.rstrip("/")):>16}'
                                                             for root in args.dev)
    print('Spearman between predicted and true input fMSE\n' + header)
    for name, columns in sets.items():
        predict = fit_error_regressor(train_features[:, columns], train_errors, steps=args.steps)
        row = {'in-sample': _correlation(predict, train_features[:, columns], train_errors)}
        for root, (dev_features, dev_errors, _) in dev.items():
            row[root] = _correlation(predict, dev_features[:, columns], dev_errors)
        results['correlations'][name] = row
        print(f'{name:<26}{row["in-sample"]:>10.3f}' + ''.join(f'{row[root]:>16.3f}' for root in args.dev))
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(results, handle, indent=1)
        print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
