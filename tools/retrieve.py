"""Retrieve reference images for one composite (Raiha's harmonization-oriented retrieval) and print the top k.

    python tools/retrieve.py COMPOSITE MASK --gallery work_dirs/gallery [-k 5] [--out refs.json]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.retrieval import add_retriever_arguments  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description='Retrieve references for a composite')
    parser.add_argument('composite', help='composite image')
    parser.add_argument('mask', help='foreground mask (white = foreground)')
    parser.add_argument('--gallery', required=True, help='gallery folder built by tools/build_gallery.py')
    parser.add_argument('-k', type=int, default=5, help='number of references')
    parser.add_argument('--exclude', nargs='*', default=[], help='paths never returned (e.g. the real image)')
    parser.add_argument('--out', help='also write the ranked list as JSON')
    parser.add_argument('--backend', choices=['auto', 'brute', 'faiss'])
    add_retriever_arguments(parser)
    args = parser.parse_args()

    from toolkit.datasets.io import read_image, read_mask
    from toolkit.datasets.transforms.processing import resize_mask
    from toolkit.retrieval import build_retriever
    from toolkit.setup_env import register_all_modules
    register_all_modules()
    try:
        options = dict(args.cfg_options or {})
        if args.backend:
            options['retriever.backend'] = args.backend
        retriever = build_retriever(args.config, gallery=args.gallery, device=args.device, cfg_options=options)
        if retriever.gallery is None:
            raise FileNotFoundError(f'{args.gallery}: no gallery here; build it with tools/build_gallery.py')
        composite, mask = read_image(args.composite), read_mask(args.mask)
        if mask.shape != composite.shape[:2]:
            mask = resize_mask(mask, composite.shape[:2])
        results = retriever.query(composite, mask, k=args.k, exclude=args.exclude)
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        sys.exit(f'error: {error}')
    if not results:
        print(f'no gallery image passes content >= {retriever.content_threshold} and '
              f'illumination >= {retriever.illumination_threshold}')
    for rank, ref in enumerate(results, 1):
        print(f'{rank:2d}  content {ref.extra["content"]:.4f}  illumination {ref.extra["illumination"]:.4f}  '
              f'{ref.path}')
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump([dict(path=ref.path, score=ref.score, **ref.extra) for ref in results], handle, indent=1)
        print(f'written to {args.out}')


if __name__ == '__main__':
    main()
