"""A picture sheet: each composite with its mask, every model's full-resolution result and (when known) the real image.

    python tools/picture_sheet.py ROOT MODEL [MODEL ...] -o sheet.jpg [--height 160] [--max-images N] [--size 256]
        [--as-is]

ROOT is an iHarmony4-layout folder (composite_images/, masks/, optionally real_images/ and a *_test.txt or
*_list.txt listing composites) or a root of several such folders. MODEL is a zoo name or CONFIG.py:CHECKPOINT.
--size resizes every composite (mask, real image) to SIZE×SIZE first; --as-is adds, after each model, its output
without the full-resolution colour fit (``harmony harmonize --no-full-res``: at the network's size, its own output).
"""
import argparse
import glob
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def find_triplets(root):
    from toolkit.datasets.iharmony4 import parse_composite_name
    composites, masks, reals = [], [], []
    for folder in sorted({os.path.dirname(os.path.dirname(p)) for p in
                          glob.glob(os.path.join(root, '**', 'composite_images', '*'), recursive=True)}):
        for path in sorted(glob.glob(os.path.join(folder, 'composite_images', '*'))):
            mask_stem, real_stem = parse_composite_name(path)
            real = sorted(glob.glob(os.path.join(folder, 'real_images', real_stem + '.*')))
            composites.append(path)
            masks.append(os.path.join(folder, 'masks', mask_stem + '.png'))
            reals.append(real[0] if real else None)
    return composites, masks, reals


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('root')
    parser.add_argument('models', nargs='+')
    parser.add_argument('-o', '--output', required=True)
    parser.add_argument('--height', type=int, default=160)
    parser.add_argument('--max-images', type=int)
    parser.add_argument('--size', type=int, help='resize every composite to SIZE x SIZE first')
    parser.add_argument('--as-is', action='store_true', help="add each model's output without the colour fit")
    args = parser.parse_args(argv)
    from toolkit.apis import Harmonizer
    from toolkit.benchmark.models import model_name
    from toolkit.visualization.sheet import short_labels, write_sheet
    composites, masks, reals = find_triplets(args.root)
    if args.max_images:
        composites, masks, reals = composites[:args.max_images], masks[:args.max_images], reals[:args.max_images]
    if not composites:
        sys.exit(f'error: {args.root}: no composite_images/ folder with images below it')
    # column titles: the family part of a zoo or config name (``colorcurves_adam-6k_…`` → ``colorcurves``), longer
    # where two models share it
    names = [model_name(model) for model in args.models]
    harmonizers = {}
    for label, model in zip(short_labels(names), args.models):
        harmonizers[label] = Harmonizer.from_pretrained(model)
        if args.as_is:
            harmonizers[f'{label} as is'] = Harmonizer(harmonizers[label].model, full_res=False)
    write_sheet(args.output, harmonizers, composites, masks, reals, args.height, args.size)
    print(f'wrote {args.output} ({len(composites)} composites)')


if __name__ == '__main__':
    main()
