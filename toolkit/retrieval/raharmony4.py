"""Building RAHarmony4-style reference lists: a gallery of training targets, one retrieval per composite."""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

from toolkit.datasets.io import IMAGE_EXTENSIONS, HarmonizationDataError

from .retriever import HarmonizationRetriever

#: folder names whose images are never gallery photos (iHarmony4 and common layouts)
MASK_FOLDERS = ('masks', 'mask')
COMPOSITE_FOLDERS = ('composite_images', 'composites', 'composite')


def gallery_exclusion(path: str, relative_to: Optional[str] = None) -> Optional[str]:
    """Why an image is not a gallery photo (``'masks'``, ``'composites'``, ``'mask-like'``), or ``None``.

    By location below ``relative_to`` (a ``masks``/``composite_images`` folder, a ``*_mask``/``*-mask`` name) or by
    content: a grayscale image whose pixels are (almost) all black or white is a mask wherever it lies. Composites
    are only recognised by their folder (their pixels look like photos).
    """
    relative = osp.relpath(path, relative_to) if relative_to else path
    parts = [part.lower() for part in relative.replace('\\', '/').split('/')[:-1]]
    stem = osp.splitext(osp.basename(path))[0].lower()
    if any(part in MASK_FOLDERS for part in parts) or stem.endswith(('_mask', '-mask')):
        return 'masks'
    if any(part in COMPOSITE_FOLDERS for part in parts):
        return 'composites'
    return 'mask-like' if _looks_like_mask(path) else None


def _looks_like_mask(path: str) -> bool:
    from PIL import Image
    try:
        with Image.open(path) as image:
            if image.mode == '1':
                return True
            if image.mode not in ('L', 'LA', 'I;16', 'I'):
                return False
            image.draft('L', (64, 64))  # JPEG: decode small
            pixels = np.asarray(image.convert('L').resize((64, 64)))
    except OSError:
        return False  # unreadable files are reported by the indexer, with their name
    return float(np.mean((pixels <= 8) | (pixels >= 247))) >= 0.98


def list_gallery_images(source: str, root: Optional[str] = None, skipped: Optional[dict] = None) -> list[str]:
    """Image paths of a gallery source.

    * a folder: every image below it (sorted), except masks and composites (:func:`gallery_exclusion`; the
      skipped paths go to ``skipped[reason]`` when a dict is given);
    * an iHarmony4 split file (``IHD_train.txt``-style composite names): the distinct real images of those
      composites, under ``root`` (default: the split file's folder);
    * any other text file: one image path per line (relative to ``root`` or absolute).
    """
    if osp.isdir(source):
        found = sorted(osp.join(folder, name) for folder, _, names in os.walk(source) for name in names
                       if name.lower().endswith(IMAGE_EXTENSIONS))
        if not found:
            raise HarmonizationDataError(f'{source}: no images ({", ".join(IMAGE_EXTENSIONS)}) below this folder')
        kept = []
        for path in found:
            reason = gallery_exclusion(path, relative_to=source)
            if reason is None:
                kept.append(path)
            elif skipped is not None:
                skipped.setdefault(reason, []).append(path)
        if not kept:
            raise HarmonizationDataError(f'{source}: every image below this folder is a mask or a composite')
        return kept
    if not osp.isfile(source):
        raise HarmonizationDataError(f'{source}: gallery source is neither a folder nor a file')
    root = root if root is not None else osp.dirname(osp.abspath(source))
    with open(source, encoding='utf-8') as handle:
        lines = [line.strip() for line in handle if line.strip()]
    if lines and all('/composite_images/' in line.replace('\\', '/') for line in lines):
        from toolkit.datasets import IHarmony4Dataset
        dataset = IHarmony4Dataset(data_root=root, ann_file=osp.relpath(osp.abspath(source), root), lazy_init=False)
        return list(dict.fromkeys(dataset.get_data_info(i)['gt_path'] for i in range(len(dataset))))
    paths = [line if osp.isabs(line) else osp.join(root, line) for line in lines]
    missing = [path for path in paths if not osp.isfile(path)]
    if missing:
        raise HarmonizationDataError(f'{source}: {len(missing)} listed images do not exist, e.g. {missing[0]}')
    return paths


def build_reference_lists(retriever: HarmonizationRetriever, data_root: str, split: str = 'train', k: int = 5,
                          subsets: Optional[Sequence[str]] = None, progress: bool = False,
                          batch_size: int = 64) -> list[dict]:
    """Retrieve up to ``k`` references for every composite of an iHarmony4 split.

    Composites are encoded ``retriever.batch_size`` at a time and queried ``batch_size`` at a time
    (:meth:`~toolkit.retrieval.HarmonizationRetriever.query_batch`: one FAISS search per batch). A composite
    never gets its own target back (nor any image at the same path). Returns RAHarmony4 entries (``input``,
    ``mask``, ``refs``; paths relative to ``data_root``), in split order; ``refs`` may be empty.
    """
    from concurrent.futures import ThreadPoolExecutor

    from rich.progress import Progress

    from toolkit.datasets import IHarmony4Dataset
    from toolkit.datasets.io import read_image, read_mask
    from toolkit.datasets.transforms.processing import resize_mask
    if retriever.gallery is None or not len(retriever.gallery):
        raise HarmonizationDataError('the retriever has no gallery (or an empty one): build it first')
    dataset = IHarmony4Dataset(data_root=data_root, split=split, subsets=subsets, lazy_init=False)
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]

    def load(info):
        composite, mask = read_image(info['composite_path']), read_mask(info['mask_path'])
        return composite, mask if mask.shape == composite.shape[:2] else resize_mask(mask, composite.shape[:2])

    entries = []
    with Progress(disable=not progress) as bar, ThreadPoolExecutor(retriever.num_workers) as pool:
        task = bar.add_task(f'retrieving for {split}', total=len(infos))
        for start in range(0, len(infos), batch_size):
            block = infos[start:start + batch_size]
            pairs = list(pool.map(load, block))
            descriptors = []
            for offset in range(0, len(pairs), retriever.batch_size):
                group = pairs[offset:offset + retriever.batch_size]
                maps = retriever.content_maps([composite for composite, _ in group])
                descriptors += [retriever.describe_composite(composite, mask, content_map=feature_map)
                                for (composite, mask), feature_map in zip(group, maps)]
            results = retriever.query_batch(descriptors, k=k, excludes=[[info['gt_path']] for info in block])
            for info, found in zip(block, results):
                entries.append(dict(input=osp.relpath(info['composite_path'], data_root).replace(os.sep, '/'),
                                    mask=osp.relpath(info['mask_path'], data_root).replace(os.sep, '/'),
                                    refs=[osp.relpath(ref.path, data_root).replace(os.sep, '/') for ref in found]))
            bar.advance(task, len(block))
    return entries
