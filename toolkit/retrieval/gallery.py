"""On-disk gallery of per-patch content features and HSV histograms, memory-mapped, append-only.

Layout of a gallery folder::

    index.json     format, grid, feature dim, histogram bins, dtype, image count, encoder identity, root
    paths.txt      one image path per line (relative to ``root`` when the gallery has one)
    content.f16    (count, grid², D) float16 unit vectors, row-major, raw
    hsv.f16        (count, grid², prod(bins)) float16 unit histograms, raw
    faiss.index    optional IVF patch index over content.f16 (:meth:`GalleryIndex.build_faiss`)

Budget (docs/retrieval.md): with the default 8×8 grid and ViT-B (D = 768) an image costs
64·768·2 = 98,304 B of content and 64·128·2 = 16,384 B of histograms, 112 KiB in all; the 65,742 iHarmony4
training images take 7.0 GiB on disk, read through the page cache (memory-mapped), never loaded whole.
"""
from __future__ import annotations

import json
import os
import os.path as osp
from typing import Optional, Sequence

import numpy as np

FORMAT_VERSION = 1
_DTYPE = np.float16


class GalleryError(RuntimeError):
    """A gallery folder that is missing, inconsistent, or built with other settings; the message says which."""


class GalleryIndex:
    """Append-only, memory-mapped patch-descriptor store (open with :meth:`create` or :meth:`open`).

    Attributes:
        content: ``(count, P, D)`` float16 memmap (``P = grid²``).
        hsv: ``(count, P, B)`` float16 memmap.
        paths: the image paths, in index order.
    """

    def __init__(self, folder: str, meta: dict, paths: list[str], paths_on_disk: Optional[int] = None):
        self.folder = folder
        self.meta = meta
        self.paths = paths
        # lines in paths.txt; more than ``count`` after an interrupted add (trimmed by the next add)
        self._paths_on_disk = len(paths) if paths_on_disk is None else paths_on_disk
        self._faiss = None
        self._map()

    # ------------------------------------------------------------------ creation / opening
    @classmethod
    def create(cls, folder: str, grid: int, dim: int, hist_bins: Sequence[int], encoder: Optional[dict] = None,
               root: Optional[str] = None, exist_ok: bool = False) -> 'GalleryIndex':
        """A new empty gallery in ``folder`` (or the existing one, if ``exist_ok`` and its settings agree)."""
        meta = dict(format=FORMAT_VERSION, grid=int(grid), dim=int(dim), hist_bins=[int(b) for b in hist_bins],
                    dtype='float16', count=0, encoder=encoder, root=None if root is None else osp.abspath(root))
        if osp.isfile(osp.join(folder, 'index.json')):
            if not exist_ok:
                raise GalleryError(f'{folder}: a gallery already exists (add to it, or choose another folder)')
            gallery = cls.open(folder)
            for key in ('grid', 'dim', 'hist_bins', 'encoder'):
                if gallery.meta[key] != meta[key]:
                    raise GalleryError(f'{folder}: existing gallery has {key}={gallery.meta[key]!r}, '
                                       f'requested {meta[key]!r}; build a new gallery')
            return gallery
        os.makedirs(folder, exist_ok=True)
        for name in ('content.f16', 'hsv.f16', 'paths.txt'):
            open(osp.join(folder, name), 'wb').close()
        _write_json(osp.join(folder, 'index.json'), meta)
        return cls(folder, meta, [])

    @classmethod
    def open(cls, folder: str) -> 'GalleryIndex':
        """Open a gallery read-only-mapped; checks that the files hold what ``index.json`` says."""
        meta_path = osp.join(folder, 'index.json')
        if not osp.isfile(meta_path):
            raise GalleryError(f'{folder}: not a gallery (no index.json); build one with tools/build_gallery.py')
        with open(meta_path, encoding='utf-8') as handle:
            meta = json.load(handle)
        if meta.get('format') != FORMAT_VERSION:
            raise GalleryError(f'{meta_path}: format {meta.get("format")} is not {FORMAT_VERSION}; rebuild the gallery')
        with open(osp.join(folder, 'paths.txt'), encoding='utf-8') as handle:
            paths = [line.rstrip('\n') for line in handle if line.strip()]
        if len(paths) < meta['count']:
            raise GalleryError(f'{folder}: paths.txt lists {len(paths)} images, index.json says {meta["count"]}')
        return cls(folder, meta, paths[:meta['count']], paths_on_disk=len(paths))

    def _map(self) -> None:
        count = self.meta['count']
        self.content = self._memmap('content.f16', (count, self.patches, self.dim))
        self.hsv = self._memmap('hsv.f16', (count, self.patches, self.num_bins))

    def _memmap(self, name: str, shape: tuple) -> np.ndarray:
        path = osp.join(self.folder, name)
        needed = int(np.prod(shape)) * np.dtype(_DTYPE).itemsize
        if osp.getsize(path) < needed:
            raise GalleryError(f'{path}: {osp.getsize(path)} bytes, index.json needs {needed} '
                               f'({shape[0]} images); the gallery is truncated, rebuild it')
        if shape[0] == 0:
            return np.zeros(shape, dtype=_DTYPE)
        return np.memmap(path, dtype=_DTYPE, mode='r', shape=shape)

    # ------------------------------------------------------------------ properties
    def __len__(self) -> int:
        return self.meta['count']

    @property
    def grid(self) -> int:
        return self.meta['grid']

    @property
    def patches(self) -> int:
        return self.meta['grid'] ** 2

    @property
    def dim(self) -> int:
        return self.meta['dim']

    @property
    def hist_bins(self) -> list[int]:
        return self.meta['hist_bins']

    @property
    def num_bins(self) -> int:
        return int(np.prod(self.meta['hist_bins']))

    @property
    def bytes_per_image(self) -> int:
        return self.patches * (self.dim + self.num_bins) * np.dtype(_DTYPE).itemsize

    def absolute_path(self, index: int) -> str:
        path = self.paths[index]
        root = self.meta.get('root')
        return path if root is None or osp.isabs(path) else osp.join(root, path)

    # ------------------------------------------------------------------ growth
    def add(self, paths: Sequence[str], content: np.ndarray, hsv: np.ndarray, save_faiss: bool = True) -> None:
        """Append images: ``content (n, P, D)`` and ``hsv (n, P, B)`` unit vectors (stored as float16).

        The data files are written first and ``index.json``'s count last, so an interrupted add leaves the
        gallery as it was (trailing bytes and lines are overwritten by the next add). A FAISS index, if built,
        is extended with the new patches; ``save_faiss=False`` leaves writing it to :meth:`save_faiss` (many
        small adds would otherwise rewrite the whole index file each time).
        """
        n = len(paths)
        content = np.asarray(content)
        hsv = np.asarray(hsv)
        if content.shape != (n, self.patches, self.dim):
            raise GalleryError(f'content must be {(n, self.patches, self.dim)}; got {content.shape}')
        if hsv.shape != (n, self.patches, self.num_bins):
            raise GalleryError(f'hsv must be {(n, self.patches, self.num_bins)}; got {hsv.shape}')
        if n == 0:
            return
        root = self.meta.get('root')
        stored = [osp.relpath(path, root) if root and osp.isabs(path) else path for path in paths]
        if any('\n' in path for path in stored):
            raise GalleryError('image paths must not contain newlines')
        count = len(self)
        faiss_index = self.faiss_index() if self.has_faiss else None  # checked against the old count
        for name, array, width in (('content.f16', content, self.dim), ('hsv.f16', hsv, self.num_bins)):
            with open(osp.join(self.folder, name), 'r+b') as handle:
                handle.seek(count * self.patches * width * np.dtype(_DTYPE).itemsize)
                handle.write(np.ascontiguousarray(array, dtype=_DTYPE).tobytes())
                handle.truncate()
        paths_file = osp.join(self.folder, 'paths.txt')
        if self._paths_on_disk != count:  # drop the lines of an interrupted add
            with open(paths_file, 'w', encoding='utf-8') as handle:
                handle.writelines(path + '\n' for path in self.paths)
        with open(paths_file, 'a', encoding='utf-8') as handle:
            handle.writelines(path + '\n' for path in stored)
        self._paths_on_disk = count + n
        self.meta['count'] = count + n
        self.paths = self.paths + stored
        _write_json(osp.join(self.folder, 'index.json'), self.meta)
        self._map()
        if faiss_index is not None:
            faiss_index.add(np.ascontiguousarray(content.reshape(-1, self.dim), dtype=np.float32))
            if save_faiss:
                self.save_faiss()

    # ------------------------------------------------------------------ FAISS
    @property
    def has_faiss(self) -> bool:
        return osp.isfile(osp.join(self.folder, 'faiss.index'))

    def build_faiss(self, nlist: Optional[int] = None, train_size: int = 200_000, seed: int = 0,
                    batch_images: int = 4096, progress: bool = False) -> None:
        """Build an IVF index (inner product, float16 scalar quantiser) over every gallery patch.

        ``nlist`` defaults to ``4·√(patches)`` clipped to [16, 4096]; it is trained on ``train_size`` random
        patches. Adding future images with :meth:`add` extends it.
        """
        import faiss
        total = len(self) * self.patches
        if total == 0:
            raise GalleryError(f'{self.folder}: empty gallery, nothing to index')
        nlist = nlist or int(np.clip(4 * np.sqrt(total), 16, 4096))
        nlist = min(nlist, max(1, total // 39))  # FAISS wants ≥ 39 training points per list
        rng = np.random.default_rng(seed)
        sample = rng.choice(total, size=min(train_size, total), replace=False)
        sample.sort()
        train = np.asarray(self.content.reshape(-1, self.dim)[sample], dtype=np.float32)
        quantizer = faiss.IndexFlatIP(self.dim)
        index = faiss.IndexIVFScalarQuantizer(quantizer, self.dim, nlist, faiss.ScalarQuantizer.QT_fp16,
                                              faiss.METRIC_INNER_PRODUCT)
        index.train(train)
        from rich.progress import track
        steps = range(0, len(self), batch_images)
        for start in track(steps, description='FAISS: adding patches', disable=not progress):
            block = np.asarray(self.content[start:start + batch_images], dtype=np.float32)
            index.add(block.reshape(-1, self.dim))
        self._faiss = index
        self.save_faiss()

    def save_faiss(self) -> None:
        """Write the loaded FAISS index (no-op when none is loaded)."""
        if self._faiss is None:
            return
        import faiss
        path = osp.join(self.folder, 'faiss.index')
        faiss.write_index(self._faiss, path + '.tmp')
        os.replace(path + '.tmp', path)

    def faiss_index(self):
        """The FAISS index, loaded into memory once (float16 codes: 2 bytes per dimension and patch)."""
        if self._faiss is None:
            import faiss
            if not self.has_faiss:
                raise GalleryError(f'{self.folder}: no faiss.index; build it with GalleryIndex.build_faiss() '
                                   'or tools/build_gallery.py --faiss')
            self._faiss = faiss.read_index(osp.join(self.folder, 'faiss.index'))
            if self._faiss.ntotal != len(self) * self.patches:
                raise GalleryError(f'{self.folder}: faiss.index holds {self._faiss.ntotal} patches, the gallery '
                                   f'{len(self) * self.patches}; rebuild it with --faiss')
        return self._faiss


def _write_json(path: str, data: dict) -> None:
    with open(path + '.tmp', 'w', encoding='utf-8') as handle:
        json.dump(data, handle, indent=1)
    os.replace(path + '.tmp', path)
