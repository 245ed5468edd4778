"""The identity probe: train a config's model from scratch on identity pairs (composite = real) and print how far
its output stays from its input (foreground mean absolute error in grey levels) — toolkit/engine/probe.py.

    OMP_NUM_THREADS=1 python tools/identity_probe.py CONFIG [--iters 200] [--batch 4] [--crop 128]
        [--cfg-options model.backbone.base_channels=12] [--out probe.json]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('--iters', type=int, default=200)
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--crop', type=int, default=128)
    parser.add_argument('--log-interval', type=int, default=25)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={}, metavar='KEY=VALUE')
    parser.add_argument('--out', help='write the records (and the settings) as JSON')
    args = parser.parse_args(argv)

    from toolkit.engine.probe import identity_probe
    options = args.cfg_options
    print(f'{"iteration":>9} {"loss":>8} {"fg error (levels)":>18} {"seconds":>8}')

    def show(record):
        print(f'{record["iteration"]:>9} {record["loss"]:>8.4f} {record["fg_error"]:>18.2f} '
              f'{record["seconds"]:>8.1f}', flush=True)

    try:
        records = identity_probe(args.config, args.iters, args.batch, args.crop, args.log_interval, args.seed,
                                 options, progress=show)
    except (FileNotFoundError, ValueError, KeyError) as error:
        sys.exit(f'error: {error}')
    if args.out:
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(dict(config=args.config, cfg_options=options, iterations=args.iters, batch=args.batch,
                           crop=args.crop, seed=args.seed, threads=os.environ.get('OMP_NUM_THREADS'),
                           records=records), handle, indent=1)


if __name__ == '__main__':
    main()
