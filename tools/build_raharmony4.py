"""Write RAHarmony4 reference lists (JSONL) for an iHarmony4 root by retrieval against its training targets.

    python tools/build_raharmony4.py ROOT [--gallery ROOT/raharmony4_gallery] [--splits train test] [-k 5]
                                    [--suffix NAME] [--config configs/retrieval/...]

Builds (or extends) the gallery from ROOT/IHD_train.txt's real images, then writes ROOT/IHD_train_all.jsonl
and ROOT/IHD_test_retrieved.jsonl (with --suffix: IHD_test_retrieved_NAME.jsonl, e.g. for Table III's
illumination bands): one line per composite, ``{"input", "mask", "refs"}``, paths relative to ROOT; a
composite never gets its own target. Lists may be empty (no image passes both thresholds). Composites are
queried in batches (one FAISS search per batch).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.retrieval import add_retriever_arguments  # noqa: E402

OUTPUT_NAMES = dict(train='IHD_train_all.jsonl', test='IHD_test_retrieved.jsonl')


def main():
    parser = argparse.ArgumentParser(description='Build RAHarmony4 reference lists')
    parser.add_argument('root', help='iHarmony4 root (with IHD_train.txt / IHD_test.txt)')
    parser.add_argument('--gallery', help='gallery folder (default ROOT/raharmony4_gallery)')
    parser.add_argument('--splits', nargs='+', default=['train', 'test'], choices=['train', 'test'])
    parser.add_argument('--subsets', nargs='+', help='only these subsets (queries; the gallery keeps all targets)')
    parser.add_argument('-k', type=int, default=5, help='references kept per composite (best first)')
    parser.add_argument('--faiss', action='store_true', help='build the FAISS index (recommended for 65k images)')
    parser.add_argument('--suffix', help='append _SUFFIX to the output file names')
    add_retriever_arguments(parser)
    args = parser.parse_args()

    from toolkit.datasets import write_reference_list
    from toolkit.retrieval import build_reference_lists, build_retriever, list_gallery_images
    from toolkit.setup_env import register_all_modules
    register_all_modules()
    root = os.path.abspath(args.root)
    gallery_dir = args.gallery or os.path.join(root, 'raharmony4_gallery')
    try:
        retriever = build_retriever(args.config, device=args.device, cfg_options=args.cfg_options)
        targets = list_gallery_images(os.path.join(root, 'IHD_train.txt'), root)
        gallery = retriever.build_index(targets, folder=gallery_dir, root=root, progress=True)
        print(f'gallery {gallery_dir}: {len(gallery)} training targets')
        if args.faiss and not gallery.has_faiss:
            gallery.build_faiss(progress=True)
        for split in args.splits:
            entries = build_reference_lists(retriever, root, split=split, k=args.k, subsets=args.subsets,
                                            progress=True)
            name = OUTPUT_NAMES[split]
            if args.suffix:
                name = name.replace('.jsonl', f'_{args.suffix}.jsonl')
            out = os.path.join(root, name)
            write_reference_list(out, entries)
            with_refs = sum(bool(entry['refs']) for entry in entries)
            print(f'{out}: {len(entries)} composites, {with_refs} with at least one reference '
                  f'(mean {sum(len(e["refs"]) for e in entries) / max(len(entries), 1):.2f} refs)')
    except (OSError, RuntimeError, ValueError, KeyError) as error:
        sys.exit(f'error: {error}')


if __name__ == '__main__':
    main()
