"""Build the real dev set (selection only): iHarmony4 test triplets shipped in published code's example folders.

    python tools/build_dev_set.py data/real-dev --repo 1960675737/MFCM-for-Image-Harmonization=PATH \
                                                --repo guanguanboy/HCDM=PATH

Each PATH is a local git copy (a clone or a bare mirror) of the repository holding the pinned commit
(toolkit/datasets/real_dev.py). Reserved triplets are left out; the result is refused if it shares a composite
with the evaluation data (data/samples, ../shared/data/triplets). See docs/zoo.md, "Selection rules".
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out', help='output folder (iHarmony4 layout)')
    parser.add_argument('--repo', action='append', default=[], metavar='OWNER/NAME=PATH',
                        help='a local git copy of a source repository (repeat for each)')
    args = parser.parse_args(argv)

    from toolkit.datasets import HarmonizationDataError
    from toolkit.datasets.real_dev import build_real_dev_set, check_no_overlap
    repositories = {}
    for item in args.repo:
        name, _, path = item.partition('=')
        if not path:
            parser.error(f'--repo {item}: expected OWNER/NAME=PATH')
        repositories[name] = path
    try:
        manifest = build_real_dev_set(args.out, repositories)
    except HarmonizationDataError as error:
        sys.exit(f'error: {error}')
    shared = check_no_overlap(args.out, [os.path.join(REPO_ROOT, 'data', 'samples'),
                                         os.path.join(REPO_ROOT, '..', 'shared', 'data', 'triplets')])
    if shared:
        sys.exit(f'error: the dev set shares {len(shared)} composite(s) with the evaluation data: {shared[:5]}')
    print(f'wrote {len(manifest["triplets"])} triplets to {args.out}: '
          + ', '.join(f'{subset} {count}' for subset, count in manifest['subsets'].items())
          + f'; left out {len(manifest["left_out_reserved"])} reserved, {len(manifest["duplicates"])} duplicates')


if __name__ == '__main__':
    main()
