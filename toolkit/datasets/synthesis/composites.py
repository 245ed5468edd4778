"""One synthetic composite from a photo: :class:`SynthesizeComposite` (a pipeline transform) takes a photo, a mask
(its own or generated) and a perturbation drawn from the example's own random generator (:func:`example_rng`), and
returns the triplet; the composite's background is the real image exactly.
"""
from __future__ import annotations

import functools
from typing import Optional, Union

import numpy as np
from mmcv.transforms import BaseTransform

from toolkit.registry import TRANSFORMS

from ..photos import PhotoCollection, open_collection
from .masks import generate_mask
from .perturbations import _build


def example_rng(seed: int, photo_index: int, mask_index: int, composite_index: int = -1) -> np.random.Generator:
    """An independent, reproducible stream per (seed, photo, mask, composite)."""
    return np.random.default_rng(np.random.SeedSequence([seed, photo_index, mask_index, composite_index + 1]))


def _as_collection(photos: Union[str, dict, PhotoCollection]) -> PhotoCollection:
    if isinstance(photos, PhotoCollection):
        return photos
    if isinstance(photos, dict):
        return open_collection(photos)
    return open_collection(dict(kind='folder', root=photos))


@TRANSFORMS.register_module()
class SynthesizeComposite(BaseTransform):
    """Online synthesis: from a photo of a collection make ``gt``, ``mask``, ``composite`` (then Resize/Pack).

    Required keys: ``photo_source`` (a collection spec, :func:`~toolkit.datasets.photos.open_collection`),
    ``photo_name``, ``photo_index``, ``mask_index``, ``composite_index``, ``seed``. Adds ``gt``, ``mask``
    (float {0, 1}), ``composite``, ``perturbation``, ``mask_source`` and the usual ``ori_shape``/``img_shape``.
    The photo's provided masks are used when it has any; otherwise masks are generated.
    """

    def __init__(self, perturbation: Optional[dict] = None, mask_method: str = 'grabcut',
                 area_range=(0.05, 0.6), mask_cache_size: int = 256):
        self.perturbation = _build(dict(type='RandomPerturbation') if perturbation is None else perturbation)
        self.mask_method, self.area_range = mask_method, tuple(area_range)
        # a mask is a pure function of (photo, seed, mask index): compute each once
        self._mask = functools.lru_cache(maxsize=mask_cache_size)(self._make_mask)

    def _make_mask(self, photos: PhotoCollection, photo_name: str, seed: int, photo_index: int, mask_index: int):
        labels = photos.mask_labels(photo_name)
        if labels:
            index = mask_index % len(labels)
            return photos.mask(photo_name, index), f'provided:{labels[index]}'
        return generate_mask(photos.image(photo_name), example_rng(seed, photo_index, mask_index), self.mask_method,
                             self.area_range)

    def transform(self, results: dict) -> dict:
        photos = results['photos'] = open_collection(results['photo_source'])
        results['gt'] = photos.image(results['photo_name']).copy()
        mask, results['mask_source'] = self._mask(photos, results['photo_name'], results['seed'],
                                                  results['photo_index'], results['mask_index'])
        results['mask'] = mask.copy()
        results['rng'] = example_rng(results['seed'], results['photo_index'], results['mask_index'],
                                     results['composite_index'])
        self.perturbation.transform(results)
        results['mask'] = results['mask'].astype(np.float32)
        results['ori_shape'] = results['img_shape'] = results['gt'].shape[:2]
        results['subset'] = results.get('subset', 'synthetic')
        return results


# ------------------------------------------------------------------------------------------ offline
