"""Synthetic composites made on the fly during training: :class:`SyntheticCompositeDataset` lists (photo, mask,
composite) indices and the :class:`~toolkit.datasets.synthesis.composites.SynthesizeComposite` transform makes each
triplet, the same way :func:`~toolkit.datasets.synthesis.offline.make_composites` writes them.
"""
from __future__ import annotations

import hashlib
import os.path as osp
from typing import Optional, Union

from mmengine.dataset import BaseDataset
from mmengine.registry import DefaultScope

from toolkit.registry import DATASETS

from ..photos import open_collection
from .composites import _as_collection


@DATASETS.register_module()
class SyntheticCompositeDataset(BaseDataset):
    """Triplets synthesised on the fly from a photo collection (nothing written to disk).

    Args:
        photo_root: a folder of photos (optionally with ``masks/<stem>_<k>.png``), or a collection spec
            such as ``dict(kind='lalonde-efros', root='data/iHarmony4-repo')``.
        per_image: examples per photo (``len(dataset) = photos × per_image``).
        masks_per_image: masks drawn per photo (ignored for photos with provided masks).
        seed: examples are a pure function of ``(seed, index)``: the same seed gives the same
            example at the same index (change the seed for fresh draws).
        pipeline: transforms after synthesis, e.g. ``RandomResizedCrop``, ``BinarizeMask``,
            ``PackHarmonizationInputs`` (``SynthesizeComposite`` is prepended).
        synthesis: config of the :class:`SynthesizeComposite` transform.
    """

    def __init__(self, photo_root: Union[str, dict], per_image: int = 20, masks_per_image: int = 4, seed: int = 0,
                 pipeline=(), synthesis: Optional[dict] = None, subset: str = 'synthetic', **kwargs):
        synthesis = dict(type='SynthesizeComposite') if synthesis is None else synthesis
        self.photo_source = _as_collection(photo_root).spec()
        self.per_image, self.masks_per_image = per_image, masks_per_image
        self.seed, self.subset = seed, subset
        with DefaultScope.overwrite_default_scope('toolkit'):
            super().__init__(ann_file='', data_root='', pipeline=[synthesis, *pipeline], **kwargs)

    def load_data_list(self) -> list[dict]:
        photos = open_collection(self.photo_source)
        data_list = []
        for photo_index, photo_name in enumerate(photos.names):
            mask_count = len(photos.mask_labels(photo_name)) or self.masks_per_image
            for k in range(self.per_image):
                data_list.append(dict(photo_source=self.photo_source, photo_name=photo_name, seed=self.seed,
                                      photo_index=photo_index, mask_index=k % mask_count, composite_index=k,
                                      subset=self.subset,
                                      name=f'{self.subset}/{osp.splitext(photo_name)[0]}_{k % mask_count + 1}_{k + 1}'))
        self._metainfo['subsets'] = (self.subset,)
        return data_list

    def cache_identity(self) -> dict:
        photos = open_collection(self.photo_source)
        digest = hashlib.sha256('\n'.join(photos.names).encode()).hexdigest()
        return dict(kind='synthetic', photo_source=self.photo_source, photos=digest, seed=self.seed)
