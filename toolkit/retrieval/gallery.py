"""On-disk gallery of per-patch content features and HSV histograms, memory-mapped, append-only.

Layout of a gallery folder::

    index.json     format, grid, feature dim, histogram bins, dtype, image count, encoder identity, root
    paths.txt      one image path per line (relative to ``root`` when the gallery has one)
    content.f16    (count, grid², D) float16 unit vectors, row-major, raw
    hsv.f16        (count, grid², prod(bins)) float16 unit histograms, raw
    faiss.index      optional IVF index of the content cells (4-bit codes): eq. 3 candidates
    faiss_hsv.index  optional IVF index of the cells' HSV histograms (8-bit codes): the eq. 5 prefilter
    faiss.json       how both were built and their measured score errors (:meth:`GalleryIndex.build_faiss`)

Budget (docs/retrieval.md): with the default 8×8 grid and ViT-B (D = 768) an image costs
64·768·2 = 98,304 B of content and 64·128·2 = 16,384 B of histograms, 112 KiB in all; the 65,742 iHarmony4
training images take 7.0 GiB on disk, read through the page cache (memory-mapped), never loaded whole; the
IVF indexes hold 384 + 128 bytes per cell (2.0 GiB at 65,742 images) in RAM.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import shutil
from typing import Optional, Sequence

import numpy as np

FORMAT_VERSION = 1
_DTYPE = np.float16


class GalleryError(RuntimeError):
    """A gallery folder that is missing, inconsistent, or built with other settings; the message says which."""


def shard_folder(folder: str, rank: int, world: int) -> str:
    """Where process ``rank`` of a ``world``-process build writes its share: ``<folder>.shard-R-of-N``."""
    return f'{folder.rstrip(os.sep)}.shard-{rank}-of-{world}'


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
        self._faiss: dict = {}
        self._faiss_meta = None
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
        gallery as it was (trailing bytes and lines are overwritten by the next add). FAISS indexes, if built,
        are extended with the new cells; ``save_faiss=False`` leaves writing them to :meth:`save_faiss` (many
        small adds would otherwise rewrite the whole index files each time).
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
        indexes = {kind: self.faiss_index(kind) for kind in self.FAISS_FILES} if self.has_faiss else {}
        # (loaded before the count changes: the load checks the index against it)
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
        if indexes:
            indexes['content'].add(np.ascontiguousarray(content.reshape(-1, self.dim), dtype=np.float32))
            indexes['hsv'].add(np.ascontiguousarray(hsv.reshape(-1, self.num_bins), dtype=np.float32))
            if save_faiss:
                self.save_faiss()

    def extend(self, other: 'GalleryIndex', chunk_images: int = 2048) -> None:
        """Append every image of ``other`` (a shard built with the same settings), in its order; paths are
        re-based onto this gallery's root. Used to merge the shards of a multi-process build."""
        for key in ('grid', 'dim', 'hist_bins', 'encoder'):
            if other.meta[key] != self.meta[key]:
                raise GalleryError(f'{other.folder}: {key}={other.meta[key]!r} differs from {self.folder}\'s '
                                   f'{self.meta[key]!r}; shards must be built with one config')
        for start in range(0, len(other), chunk_images):
            stop = min(start + chunk_images, len(other))
            self.add([osp.abspath(other.absolute_path(i)) for i in range(start, stop)],
                     np.asarray(other.content[start:stop]), np.asarray(other.hsv[start:stop]), save_faiss=False)
        self.save_faiss()

    def unindexed(self, paths: Sequence[str]) -> list[str]:
        """The absolute paths of ``paths`` that this gallery does not hold yet (re-running a build adds only
        those)."""
        known = {osp.normpath(self.absolute_path(index)) for index in range(len(self))}
        return [osp.abspath(path) for path in paths if osp.normpath(osp.abspath(path)) not in known]

    @classmethod
    def merge_shards(cls, folder: str, world: int, grid: int, dim: int, hist_bins: Sequence[int],
                     encoder: Optional[dict] = None, root: Optional[str] = None) -> 'GalleryIndex':
        """Append the shards of a ``world``-process build (:func:`shard_folder`) to the gallery at ``folder``
        (created when missing), in rank order, and remove them."""
        gallery = cls.create(folder, grid, dim, hist_bins, encoder=encoder, root=root, exist_ok=True)
        for rank in range(world):
            shard = shard_folder(folder, rank, world)
            gallery.extend(cls.open(shard))
            shutil.rmtree(shard)
        return gallery

    # ------------------------------------------------------------------ FAISS
    @property
    def has_faiss(self) -> bool:
        return all(osp.isfile(osp.join(self.folder, name)) for name in (*self.FAISS_FILES.values(), 'faiss.json'))

    @property
    def faiss_meta(self) -> dict:
        """How the FAISS index was built and its measured score error (``faiss.json``), read once."""
        if self._faiss_meta is None:
            with open(osp.join(self.folder, 'faiss.json'), encoding='utf-8') as handle:
                self._faiss_meta = json.load(handle)
        return self._faiss_meta

    #: FAISS scalar quantizers by name: bits per dimension of the in-RAM codes
    CODECS = {'SQ4': 'QT_4bit', 'SQ6': 'QT_6bit', 'SQ8': 'QT_8bit', 'SQfp16': 'QT_fp16'}
    #: the two indexes: content cells (eq. 3 candidates) and HSV histograms of cells (the eq. 5 prefilter)
    FAISS_FILES = dict(content='faiss.index', hsv='faiss_hsv.index')

    def build_faiss(self, nlist: Optional[int] = None, codec: str = 'SQ4', hsv_codec: str = 'SQ8',
                    train_size: Optional[int] = None, seed: int = 0, batch_images: int = 4096,
                    progress: bool = False) -> None:
        """Build two IVF indexes (inner product, scalar-quantized codes) over every gallery cell: one of content
        vectors (``faiss.index``) and one of HSV histograms (``faiss_hsv.index``).

        Args:
            nlist: inverted lists; default ``4·√cells`` rounded to a power of two, in [16, 8192] (8192 at 65,742
                images: ~510 cells per list).
            codec: content codes: ``'SQ4'`` (default, 4 bits per dimension: 384 B per ViT-B cell, 1.5 GiB at
                65,742 images), ``'SQ6'``, ``'SQ8'`` or ``'SQfp16'`` (6 GiB at 65k).
            hsv_codec: HSV codes (default ``'SQ8'``: 128 B per cell, 0.5 GiB at 65k).
            train_size: cells used to train each coarse quantizer and codec (default ``39·nlist``, at least
                100,000).

        The codes only propose candidates: every score the retriever returns is recomputed exactly from the
        float16 store. The largest approximation error seen on high-similarity pairs (k-NN of sampled cells) is
        written to ``faiss.json`` (``score_error``, ``hsv_score_error``); the retriever's margins use them.
        Adding images later with :meth:`add` extends both indexes (the quantizers stay as trained).
        """
        for name in (codec, hsv_codec):
            if name not in self.CODECS:
                raise GalleryError(f'codec must be one of {sorted(self.CODECS)}; got {name!r}')
        total = len(self) * self.patches
        if total == 0:
            raise GalleryError(f'{self.folder}: empty gallery, nothing to index')
        nlist = nlist or int(np.clip(2 ** round(np.log2(4 * np.sqrt(total))), 16, 8192))
        nlist = max(1, min(nlist, total // 39))  # FAISS wants ≥ 39 training points per list
        train_size = min(total, train_size or max(100_000, 39 * nlist))
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(total, size=train_size, replace=False))
        meta = dict(type='IVF', codec=codec, hsv_codec=hsv_codec, nlist=nlist, train_size=int(train_size))
        for kind, store, kind_codec in (('content', self.content, codec), ('hsv', self.hsv, hsv_codec)):
            index = self._build_ivf(store, nlist, kind_codec, sample, batch_images, progress, kind)
            self._faiss[kind] = index
            meta['score_error' if kind == 'content' else 'hsv_score_error'] = self._measure_score_error(
                index, store, rng)
        self.save_faiss()
        _write_json(osp.join(self.folder, 'faiss.json'), meta)
        self._faiss_meta = meta

    def _build_ivf(self, store: np.ndarray, nlist: int, codec: str, sample: np.ndarray, batch_images: int,
                   progress: bool, kind: str):
        import faiss
        width = store.shape[-1]
        train = np.asarray(store.reshape(-1, width)[sample], dtype=np.float32)
        index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(width), width, nlist,
                                              getattr(faiss.ScalarQuantizer, self.CODECS[codec]),
                                              faiss.METRIC_INNER_PRODUCT)
        index.cp.niter = 10  # k-means iterations of the coarse quantizer (FAISS default 25; lists barely move)
        index.train(train)
        del train
        from rich.progress import track
        steps = range(0, len(self), batch_images)
        for start in track(steps, description=f'FAISS: adding {kind} cells', disable=not progress):
            index.add(np.asarray(store[start:start + batch_images], dtype=np.float32).reshape(-1, width))
        return index

    def _measure_score_error(self, index, store: np.ndarray, rng, queries: int = 256, neighbours: int = 32) -> float:
        """Largest |approximate − exact| inner product over the k-NN of sampled cells (the pairs that decide
        rankings). Which lists are probed does not matter: the error is the codes'."""
        flat = store.reshape(-1, store.shape[-1])
        total = len(flat)
        picks = rng.choice(total, size=min(queries, total), replace=False)
        vectors = np.asarray(flat[np.sort(picks)], dtype=np.float32)
        index.nprobe = min(index.nlist, 64)
        approximate, labels = index.search(vectors, min(neighbours, total))
        errors = [abs(float(score) - float(np.dot(np.asarray(flat[label], np.float32), vector)))
                  for vector, row_scores, row_labels in zip(vectors, approximate, labels)
                  for score, label in zip(row_scores, row_labels) if label >= 0]
        return float(max(errors)) if errors else 0.0

    def save_faiss(self) -> None:
        """Write the loaded FAISS indexes (no-op for those not loaded)."""
        import faiss
        for kind, index in self._faiss.items():
            path = osp.join(self.folder, self.FAISS_FILES[kind])
            faiss.write_index(index, path + '.tmp')
            os.replace(path + '.tmp', path)

    def faiss_index(self, kind: str = 'content'):
        """The FAISS index of ``kind`` (``'content'`` or ``'hsv'``), loaded into memory once."""
        if kind not in self._faiss:
            import faiss
            if not self.has_faiss:
                raise GalleryError(f'{self.folder}: no FAISS indexes (faiss.index, faiss_hsv.index, faiss.json); '
                                   'build them with GalleryIndex.build_faiss() or tools/build_gallery.py --faiss')
            index = faiss.read_index(osp.join(self.folder, self.FAISS_FILES[kind]))
            if index.ntotal != len(self) * self.patches:
                raise GalleryError(f'{self.folder}: {self.FAISS_FILES[kind]} holds {index.ntotal} cells, the '
                                   f'gallery {len(self) * self.patches}; rebuild it with --faiss')
            self._faiss[kind] = index
        return self._faiss[kind]


def _write_json(path: str, data: dict) -> None:
    with open(path + '.tmp', 'w', encoding='utf-8') as handle:
        json.dump(data, handle, indent=1)
    os.replace(path + '.tmp', path)
