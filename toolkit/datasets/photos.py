"""Photo collections: the real photos that synthesis re-colours, with their object masks and classes.

A composite is made from a real photo, a foreground mask and a perturbation; some perturbations
(iHarmony4's HCOCO recipe) also need *another* photo's object of the same class. A
:class:`PhotoCollection` answers those questions for one source:

* :class:`FolderPhotos` — any folder of photos, optionally with ``masks/<stem>_<k>.png``
  (no classes; masks are generated when none are given);
* :class:`~toolkit.datasets.lalonde_efros.LalondeEfrosPhotos` — the Lalonde & Efros LabelMe photos
  with their annotated object masks and class names.

Collections are described by a small JSON-able ``spec`` (``dict(kind=..., root=..., **options)``),
which is what manifests and online datasets store; :func:`open_collection` turns a spec back into a
(cached) collection, so a worker process opens each source once.
"""
from __future__ import annotations

import functools
import json
import os
import os.path as osp
from typing import Optional

import numpy as np

from .io import IMAGE_EXTENSIONS, HarmonizationDataError, read_image, read_mask

#: ``kind`` → collection class; sources register with :func:`register_collection`.
PHOTO_COLLECTIONS: dict[str, type] = {}


def register_collection(cls):
    PHOTO_COLLECTIONS[cls.kind] = cls
    return cls


class PhotoCollection:
    """Real photos by name, each with zero or more object masks and an optional object class.

    Subclasses set :attr:`kind`, fill :attr:`names` and implement :meth:`_read_image`,
    :meth:`mask_labels` and :meth:`_read_mask`.
    """

    kind = ''

    def __init__(self, root: str, image_cache_size: int = 64):
        self.root = osp.abspath(root)
        self.names: tuple[str, ...] = ()
        self._image = functools.lru_cache(maxsize=image_cache_size)(self._load_read_only)

    # -- what subclasses provide --------------------------------------------------------------
    def _read_image(self, name: str) -> np.ndarray:
        raise NotImplementedError

    def mask_labels(self, name: str) -> list[str]:
        """Labels of the photo's provided masks (empty: masks must be generated)."""
        return []

    def _read_mask(self, name: str, index: int) -> np.ndarray:
        raise NotImplementedError

    def object_class(self, name: str) -> Optional[str]:
        """The class of the photo's annotated object, or ``None`` when the source has no classes."""
        return None

    def options(self) -> dict:
        """Constructor options beyond ``root`` (recorded in the spec)."""
        return {}

    # -- shared behaviour ---------------------------------------------------------------------
    def _load_read_only(self, name: str) -> np.ndarray:
        image = self._read_image(name)
        image.setflags(write=False)  # shared between calls: never modified in place
        return image

    def image(self, name: str) -> np.ndarray:
        """``(H, W, 3)`` uint8 RGB, read-only (cached)."""
        return self._image(name)

    def mask(self, name: str, index: int = 0) -> np.ndarray:
        """The ``index``-th provided mask of a photo: ``(H, W)`` uint8 {0, 1}."""
        return self._read_mask(name, index)

    def classes(self) -> dict[str, list[str]]:
        """Class → photo names (photos without a class are left out)."""
        by_class: dict[str, list[str]] = {}
        for name in self.names:
            label = self.object_class(name)
            if label is not None:
                by_class.setdefault(label, []).append(name)
        return by_class

    def spec(self) -> dict:
        return dict(kind=self.kind, root=self.root, **self.options())

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return f'{type(self).__name__}({self.root!r}, {len(self)} photos)'


@register_collection
class FolderPhotos(PhotoCollection):
    """Every photo in a folder; ``masks/<stem>_<k>.png`` beside them are its provided masks.

    Example:
        >>> photos = FolderPhotos('data/samples/RainNet/real_images')
        >>> photos.names, photos.image('rainnet1.png').shape, photos.object_class('rainnet1.png')
        (('rainnet1.png', 'rainnet2.png', 'rainnet3.png'), (256, 256, 3), None)
    """

    kind = 'folder'

    def __init__(self, root: str, **kwargs):
        super().__init__(root, **kwargs)
        if not osp.isdir(self.root):
            raise HarmonizationDataError(f'{root}: photo folder does not exist')
        self.names = tuple(sorted(name for name in os.listdir(self.root)
                                  if name.lower().endswith(IMAGE_EXTENSIONS) and osp.isfile(osp.join(self.root, name))))
        if not self.names:
            raise HarmonizationDataError(f'{root}: no photos ({", ".join(IMAGE_EXTENSIONS)})')
        self._masks = functools.lru_cache(maxsize=None)(self._find_masks)

    def _read_image(self, name: str) -> np.ndarray:
        return read_image(osp.join(self.root, name))

    def _find_masks(self, name: str) -> tuple[str, ...]:
        folder = osp.join(self.root, 'masks')
        if not osp.isdir(folder):
            return ()
        stem = osp.splitext(name)[0]
        return tuple(sorted(entry for entry in os.listdir(folder) if entry.startswith(stem + '_')
                            and entry.endswith('.png') and entry[len(stem) + 1:-4].isdigit()))

    def mask_labels(self, name: str) -> list[str]:
        return list(self._masks(name))

    def _read_mask(self, name: str, index: int) -> np.ndarray:
        return (read_mask(osp.join(self.root, 'masks', self._masks(name)[index])) > 0.5).astype(np.uint8)


@functools.lru_cache(maxsize=8)
def _open_cached(frozen_spec: str) -> PhotoCollection:
    spec = json.loads(frozen_spec)
    kind = spec.pop('kind')
    if kind not in PHOTO_COLLECTIONS:
        raise HarmonizationDataError(f'unknown photo collection kind {kind!r}; known: {sorted(PHOTO_COLLECTIONS)}')
    return PHOTO_COLLECTIONS[kind](**spec)


def open_collection(spec: dict) -> PhotoCollection:
    """The collection a ``spec`` describes (cached per process).

    Example:
        >>> photos = open_collection(dict(kind='folder', root='data/samples/RainNet/real_images'))
        >>> photos is open_collection(photos.spec()), len(photos)
        (True, 3)
    """
    spec = dict(spec)
    spec['root'] = osp.abspath(spec['root'])
    return _open_cached(json.dumps(spec, sort_keys=True))
