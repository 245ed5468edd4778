"""Index gallery images for harmonization-oriented retrieval (Raiha); re-running adds only new images.

    python tools/build_gallery.py SOURCE --gallery work_dirs/gallery [--root ROOT] [--faiss] [--device cuda]

SOURCE is a folder of images, an iHarmony4 split file (its composites' real images, e.g.
data/iHarmony4/IHD_train.txt) or a text file of image paths.
"""
import argparse
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.retrieval import add_retriever_arguments  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description='Build or extend a retrieval gallery')
    parser.add_argument('source', help='image folder, iHarmony4 split file, or list of image paths')
    parser.add_argument('--gallery', required=True, help='gallery folder (created, or extended)')
    parser.add_argument('--root', help='store paths relative to this folder (default: the split file\'s folder)')
    parser.add_argument('--faiss', action='store_true', help='(re)build the FAISS IVF patch index afterwards')
    parser.add_argument('--nlist', type=int, help='IVF lists (default 4*sqrt(patches), at most 4096)')
    add_retriever_arguments(parser)
    args = parser.parse_args()

    from toolkit.retrieval import build_retriever, list_gallery_images
    from toolkit.utils import register_all_modules
    register_all_modules()
    try:
        root = args.root
        if root is None and os.path.isfile(args.source):
            root = os.path.dirname(os.path.abspath(args.source))
        paths = list_gallery_images(args.source, root)
        retriever = build_retriever(args.config, device=args.device, cfg_options=args.cfg_options)
        before = len(retriever.open_gallery(args.gallery)) if os.path.isfile(
            os.path.join(args.gallery, 'index.json')) else 0
        start = time.perf_counter()
        gallery = retriever.build_index([os.path.abspath(p) for p in paths], folder=args.gallery,
                                        root=os.path.abspath(root) if root else None, progress=True)
        seconds = time.perf_counter() - start
        added = len(gallery) - before
        print(f'{args.gallery}: {len(gallery)} images ({added} added in {seconds:.1f} s'
              + (f', {added / seconds:.2f} images/s' if added else '') + f'); '
              f'{gallery.bytes_per_image} bytes per image, {gallery.bytes_per_image * len(gallery) / 2**20:.1f} MiB')
        if args.faiss:
            start = time.perf_counter()
            gallery.build_faiss(nlist=args.nlist, progress=True)
            print(f'FAISS IVF index over {len(gallery) * gallery.patches} patches in '
                  f'{time.perf_counter() - start:.1f} s')
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        sys.exit(f'error: {error}')


if __name__ == '__main__':
    main()
