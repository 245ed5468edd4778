"""Check a GPU machine in one command: AMP steps per family, DDP, a short training, efficiency, retrieval encoder.

    python tools/device_check.py --out work_dirs/device_check [--device cuda] [--quick]

Writes device_check.json and device_check.md (see toolkit/benchmark/device_check.py for what each check does).
Without CUDA the CUDA-only parts are skipped with their reason.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.benchmark.device_check import run_device_check  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default='work_dirs/device_check')
    parser.add_argument('--device', default=None, help='default: cuda when available, else cpu')
    parser.add_argument('--quick', action='store_true', help='a smaller version of every check')
    args = parser.parse_args(argv)
    report = run_device_check(args.out, args.device, quick=args.quick)
    failed = [name for name, check in report['checks'].items() if check.get('ok') is False]
    print(open(os.path.join(args.out, 'device_check.md'), encoding='utf-8').read())
    if failed:
        sys.exit(f'checks failed: {", ".join(failed)}')


if __name__ == '__main__':
    main()
