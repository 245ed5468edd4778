"""Plot a training run's learning curves (training losses, validation metrics) from its vis_data/scalars.json,
or a warm-start chain's (every stage on one iteration axis, with its dev metric).

    python tools/plot_training.py work_dirs/RUN/TIMESTAMP/vis_data/scalars.json -o curve.png [--title NAME]
    python tools/plot_training.py --chain STAGE1/scalars.json STAGE2/scalars.json --dev-stages 2 \
        --point 3000=1252.4 --reference "input composite=1447.5" -o chain.png [--labels A B] [--metric fMSE]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def _pair(text, kind):
    key, sep, value = text.rpartition('=')
    if not sep:
        raise argparse.ArgumentTypeError(f'{kind} must be KEY=VALUE; got {text!r}')
    try:
        return key, float(value)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f'{kind} {text!r}: {error}') from error


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('scalars', nargs='*', help='vis_data/scalars.json of a run')
    parser.add_argument('--chain', nargs='+', help="the stages' scalars.json, in training order")
    parser.add_argument('--labels', nargs='+', help='one label per chain stage')
    parser.add_argument('--dev-stages', nargs='+', type=int, default=[],
                        help='1-based stages whose validation ran on the dev split (the others are not plotted)')
    parser.add_argument('--point', action='append', default=[], type=lambda t: _pair(t, '--point'),
                        help='ITERATION=VALUE: a dev measurement besides the runs (a stage\'s weights scored)')
    parser.add_argument('--reference', action='append', default=[], type=lambda t: _pair(t, '--reference'),
                        help='LABEL=VALUE: a horizontal line on the dev panel')
    parser.add_argument('--metric', default='fMSE', help='dev metric of a chain')
    parser.add_argument('-o', '--out', required=True, help='PNG to write')
    parser.add_argument('--title', default='')
    parser.add_argument('--metrics', nargs='+', default=['fMSE', 'PSNR'])
    args = parser.parse_args(argv)
    from toolkit.visualization.curves import plot_learning_curves, plot_training_chain
    try:
        if args.chain:
            labels = args.labels or [f'stage {index + 1}' for index in range(len(args.chain))]
            if len(labels) != len(args.chain):
                sys.exit(f'error: {len(labels)} labels for {len(args.chain)} stages')
            stages = [dict(scalars=path, label=label, dev=index + 1 in args.dev_stages)
                      for index, (path, label) in enumerate(zip(args.chain, labels))]
            points = [(float(iteration), value) for iteration, value in args.point]
            print(plot_training_chain(stages, args.out, args.title, args.metric, points, dict(args.reference)))
        elif len(args.scalars) == 1:
            print(plot_learning_curves(args.scalars[0], args.out, args.title, args.metrics))
        else:
            sys.exit('error: give one scalars.json, or --chain STAGE1 STAGE2 ...')
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f'error: {error}')


if __name__ == '__main__':
    main()
