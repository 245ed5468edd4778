"""Build a training set of composites from real photos (iHarmony4 layout, split by photo, replayable manifest).

    python tools/build_dataset.py lalonde-efros data/lalonde-efros [--source CLONE] [--seed 0]
    python tools/build_dataset.py PHOTO_FOLDER OUT [--per-image 20]        # any folder (masks generated)

``lalonde-efros`` fetches the Lalonde & Efros photos from the iHarmony4 repository at a pinned commit
(a sparse git clone into --cache-dir) unless --source names a local clone or snapshot; every photo is
checked against the sha256 list shipped with HarmonyZoo. See docs/datasets.md.
"""
import argparse
import os
import sys
from collections import Counter

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: E402

from toolkit.datasets import HarmonizationDataError  # noqa: E402
from toolkit.datasets.recipes import DATASET_RECIPES, build_training_set  # noqa: E402


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('name', help=f'a recipe ({", ".join(sorted(DATASET_RECIPES))}) or a folder of photos')
    parser.add_argument('out', help='output dataset root')
    parser.add_argument('--source', help='local copy of the recipe\'s photos (a clone of the repository)')
    parser.add_argument('--cache-dir', help='where fetched sources go (default ~/.cache/harmonyzoo/datasets)')
    parser.add_argument('--seed', type=int, help='default: the recipe\'s (0)')
    parser.add_argument('--per-image', type=int, help='composites per photo')
    parser.add_argument('--test-fraction', type=float, help='fraction of photos in the test split')
    parser.add_argument('--subset-name', dest='subset', help='subset folder name')
    parser.add_argument('--classes', nargs='+', help='lalonde-efros: keep only these object classes')
    parser.add_argument('--exclude-classes', nargs='*',
                        help='lalonde-efros: leave these classes out (default: the stuff classes sky, road, water, '
                             'field, sand, snow; give none to keep them)')
    parser.add_argument('--min-change', type=float, help='minimum mean absolute foreground change (0-255)')
    parser.add_argument('--max-change', type=float, help='maximum mean absolute foreground change (0-255)')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    recipe, source = args.name, args.source
    if recipe not in DATASET_RECIPES and os.path.isdir(recipe):
        recipe, source = 'folder', recipe
    try:
        with Progress(TextColumn('composites'), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
            task = bar.add_task('composites', total=None)
            manifest = build_training_set(
                recipe, args.out, source=source, cache_dir=args.cache_dir, classes=args.classes,
                exclude_classes=args.exclude_classes, seed=args.seed,
                per_image=args.per_image, test_fraction=args.test_fraction, name=args.subset,
                min_change=args.min_change, max_change=args.max_change,
                progress=lambda done, total: bar.update(task, completed=done, total=total))
    except HarmonizationDataError as error:
        sys.exit(f'error: {error}')
    composites = manifest['composites']
    test = sum(entry['split'] == 'test' for entry in composites)
    kinds = Counter(entry['perturbation']['type'] for entry in composites)
    print(f'wrote {len(composites)} composites ({len(composites) - test} train, {test} test) from '
          f'{len({entry["photo"] for entry in composites})} photos to {os.path.join(args.out, manifest["name"])}')
    print('perturbations: ' + ', '.join(f'{name} {count}' for name, count in kinds.most_common()))
    if manifest.get('skipped_photos'):
        print('photos left out: ' + ', '.join(f'{k} {v}' for k, v in manifest['skipped_photos'].items()))


if __name__ == '__main__':
    main()
