"""Make an iHarmony4-layout dataset of synthetic composites from a folder of photos.

    python tools/make_composites.py PHOTOS OUT [--per-image 20] [--masks-per-image 4] [--seed 0]
        [--name NAME] [--test-fraction 0.2] [--mask-method grabcut|blobs]

PHOTOS may hold masks/<photo-stem>_<k>.png to use instead of generated masks. OUT receives
<NAME>/{composite_images,masks,real_images}, <NAME>/<NAME>_{train,test}.txt, IHD_{train,test}.txt
and <NAME>/manifest.json (every sampled parameter; the same seed gives identical files).
See docs/synthetic.md.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn  # noqa: E402

from toolkit.datasets import HarmonizationDataError, make_composites  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument('photos', help='folder of photos')
    parser.add_argument('out', help='output dataset root')
    parser.add_argument('--per-image', type=int, default=20, help='composites per photo')
    parser.add_argument('--masks-per-image', type=int, default=4, help='generated masks per photo')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--name', help='subset folder name (default: the photo folder name)')
    parser.add_argument('--test-fraction', type=float, default=0.2, help='fraction of photos in the test split')
    parser.add_argument('--mask-method', choices=['grabcut', 'blobs'], default='grabcut')
    parser.add_argument('--min-change', type=float, default=6.0,
                        help='minimum mean absolute foreground change (0-255) of a composite')
    args = parser.parse_args(argv)
    perturbation = dict(type='RandomPerturbation', min_change=args.min_change)
    try:
        with Progress(TextColumn('composites'), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn()) as bar:
            task = bar.add_task('composites', total=None)
            manifest = make_composites(args.photos, args.out, per_image=args.per_image,
                                       masks_per_image=args.masks_per_image, seed=args.seed, name=args.name,
                                       test_fraction=args.test_fraction, mask_method=args.mask_method,
                                       perturbation=perturbation,
                                       progress=lambda done, total: bar.update(task, completed=done, total=total))
    except HarmonizationDataError as error:
        sys.exit(f'error: {error}')
    composites = manifest['composites']
    test = sum(entry['split'] == 'test' for entry in composites)
    sources = {}
    for entry in composites:
        kind = entry['mask_source'].split(':')[0]
        sources[kind] = sources.get(kind, 0) + 1
    print(f'wrote {len(composites)} composites ({len(composites) - test} train, {test} test) to '
          f'{os.path.join(args.out, manifest["name"])}; masks: {sources}')


if __name__ == '__main__':
    main()
