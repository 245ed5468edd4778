"""Run the demo on the bundled samples (what `make demo` does)."""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.benchmark.demo import run_demo  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--work-dir', default='work_dirs/demo')
    args = parser.parse_args()
    run_demo(args.work_dir)


if __name__ == '__main__':
    main()
