"""Index gallery images for harmonization-oriented retrieval (Raiha); re-running adds only new images.

    python tools/build_gallery.py SOURCE --gallery work_dirs/gallery [--root ROOT] [--faiss] [--device cuda]
    torchrun --nproc_per_node 4 tools/build_gallery.py SOURCE --gallery work_dirs/gallery --device cuda

SOURCE is a folder of images (masks and composites below it are recognised and skipped), an iHarmony4 split file
(its composites' real images, e.g. data/iHarmony4/IHD_train.txt) or a text file of image paths. Paths are stored
relative to --root (default: the folder, or the split file's folder), so a gallery moves with its images.

Under torchrun every process indexes a contiguous share of the new images into its own shard folder
(GALLERY.shard-R-of-N, on its own GPU with --device cuda); rank 0 then appends the shards in order to the gallery
and removes them (a failed run leaves the shards; run again to redo them).
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
    parser.add_argument('--root', help='store paths relative to this folder (default: the source folder, or the '
                                       'split/list file\'s folder)')
    parser.add_argument('--faiss', action='store_true', help='(re)build the FAISS IVF patch index afterwards')
    parser.add_argument('--nlist', type=int, help='IVF lists (default 4*sqrt(patches), at most 8192)')
    add_retriever_arguments(parser)
    args = parser.parse_args()

    from toolkit.engine.launch import init_worker_group
    from toolkit.retrieval import build_retriever, list_gallery_images
    from toolkit.setup_env import register_all_modules
    register_all_modules()
    rank, world, device = init_worker_group(args.device)
    try:
        root = args.root or (args.source if os.path.isdir(args.source) else os.path.dirname(
            os.path.abspath(args.source)))
        root = os.path.abspath(root)
        skipped = {}
        paths = list_gallery_images(args.source, root, skipped=skipped)
        retriever = build_retriever(args.config, device=device, cfg_options=args.cfg_options)
        if rank == 0 and skipped:
            print('skipped ' + ', '.join(f'{len(found)} {reason}' for reason, found in sorted(skipped.items()))
                  + ' (not gallery photos)')
        start = time.perf_counter()
        gallery, added = retriever.extend_gallery(paths, args.gallery, root, rank, world, progress=True)
        seconds = time.perf_counter() - start
        if rank:
            print(f'rank {rank}: {added} images indexed in {seconds:.1f} s', flush=True)
        if rank == 0:
            print(f'{args.gallery}: {len(gallery)} images ({added} added in {seconds:.1f} s'
                  + (f', {added / seconds:.2f} images/s' if added else '') + f' with {world} process(es)); '
                  f'{gallery.bytes_per_image} bytes per image, '
                  f'{gallery.bytes_per_image * len(gallery) / 2**20:.1f} MiB')
            if args.faiss:
                start = time.perf_counter()
                gallery.build_faiss(nlist=args.nlist, progress=True)
                print(f'FAISS IVF index over {len(gallery) * gallery.patches} patches in '
                      f'{time.perf_counter() - start:.1f} s')
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        sys.exit(f'error: {error}')
    finally:
        if world > 1:
            import torch.distributed as dist
            if dist.is_initialized():
                dist.barrier()
                dist.destroy_process_group()


if __name__ == '__main__':
    main()
