"""Building RAHarmony4-style reference lists: a gallery of training targets, one retrieval per composite."""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional, Sequence

from toolkit.datasets.io import IMAGE_EXTENSIONS, HarmonizationDataError

from .retriever import HarmonizationRetriever


def list_gallery_images(source: str, root: Optional[str] = None) -> list[str]:
    """Image paths of a gallery source.

    * a folder: every image below it (sorted);
    * an iHarmony4 split file (``IHD_train.txt``-style composite names): the distinct real images of those
      composites, under ``root`` (default: the split file's folder);
    * any other text file: one image path per line (relative to ``root`` or absolute).
    """
    if osp.isdir(source):
        found = [osp.join(folder, name) for folder, _, names in os.walk(source) for name in names
                 if name.lower().endswith(IMAGE_EXTENSIONS)]
        if not found:
            raise HarmonizationDataError(f'{source}: no images ({", ".join(IMAGE_EXTENSIONS)}) below this folder')
        return sorted(found)
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
                          subsets: Optional[Sequence[str]] = None, progress: bool = False) -> list[dict]:
    """Retrieve up to ``k`` references for every composite of an iHarmony4 split.

    A composite never gets its own target back (nor any image at the same path). Returns RAHarmony4 entries
    (``input``, ``mask``, ``refs``; paths relative to ``data_root``), in split order; ``refs`` may be empty.
    """
    from rich.progress import track

    from toolkit.datasets import IHarmony4Dataset
    from toolkit.datasets.io import read_image, read_mask
    from toolkit.datasets.transforms.processing import resize_mask
    if retriever.gallery is None or not len(retriever.gallery):
        raise HarmonizationDataError('the retriever has no gallery (or an empty one): build it first')
    dataset = IHarmony4Dataset(data_root=data_root, split=split, subsets=subsets, lazy_init=False)
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    entries = []
    for info in track(infos, description=f'retrieving for {split}', disable=not progress):
        composite = read_image(info['composite_path'])
        mask = read_mask(info['mask_path'])
        if mask.shape != composite.shape[:2]:
            mask = resize_mask(mask, composite.shape[:2])
        results = retriever.query(composite, mask, k=k, exclude=[info['gt_path']])
        entries.append(dict(input=osp.relpath(info['composite_path'], data_root).replace(os.sep, '/'),
                            mask=osp.relpath(info['mask_path'], data_root).replace(os.sep, '/'),
                            refs=[osp.relpath(ref.path, data_root).replace(os.sep, '/') for ref in results]))
    return entries
