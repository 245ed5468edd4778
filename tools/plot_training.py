"""Plot a training run's learning curves (training losses, validation metrics) from its vis_data/scalars.json.

    python tools/plot_training.py work_dirs/RUN/TIMESTAMP/vis_data/scalars.json -o curve.png [--title NAME]
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('scalars', help='vis_data/scalars.json of a run')
    parser.add_argument('-o', '--out', required=True, help='PNG to write')
    parser.add_argument('--title', default='')
    parser.add_argument('--metrics', nargs='+', default=['fMSE', 'PSNR'])
    args = parser.parse_args()
    from toolkit.visualization.curves import plot_learning_curves
    try:
        print(plot_learning_curves(args.scalars, args.out, args.title, args.metrics))
    except (OSError, ValueError) as error:
        sys.exit(f'error: {error}')


if __name__ == '__main__':
    main()
