"""Evaluate a checkpoint on the config's test split and print per-subset metrics.

    python tools/test.py CONFIG CHECKPOINT [--data-root DIR] [--out results.json] [--profile NAME] [--cfg-options ...]

CHECKPOINT may be ``none`` for models without weights. The test set is the config's unless --data-root names
another iHarmony4-layout folder (the one evaluated is printed first).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.engine.launch import add_common_arguments, end_worker_process, test  # noqa: E402
from toolkit.metrics import METRIC_PROFILES  # noqa: E402
from toolkit.metrics.report import print_report  # noqa: E402
from toolkit.setup_env import register_all_modules  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='Test a HarmonyZoo model')
    parser.add_argument('config', help='config file')
    parser.add_argument('checkpoint', help="checkpoint file, or 'none' for a model without weights")
    parser.add_argument('--data-root',
                        help="evaluate this iHarmony4-layout folder's test split instead of the config's")
    parser.add_argument('--out', help='write the full report (profile, tables, per-image metrics) as JSON')
    parser.add_argument('--profile', choices=sorted(METRIC_PROFILES), help='metric profile (default: the config\'s)')
    add_common_arguments(parser)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    register_all_modules(init_default_scope=False)  # core modules, installed plugins, the hf:// scheme
    checkpoint = None if args.checkpoint.lower() == 'none' else args.checkpoint
    try:
        test(args.config, checkpoint, work_dir=args.work_dir, out=args.out, profile=args.profile,
             cfg_options=args.cfg_options, launcher=args.launcher, data_root=args.data_root)
        if args.out:
            with open(args.out, encoding='utf-8') as handle:
                print_report(json.load(handle))
            print(f'full report written to {args.out}')
    except (FileNotFoundError, RuntimeError, ValueError) as error:  # data and checkpoint errors name the file
        sys.exit(f'error: {error}')
    end_worker_process(0)


if __name__ == '__main__':
    main()
