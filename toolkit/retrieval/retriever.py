"""Harmonization-oriented retrieval (Raiha, eqs. 1–5): similar foreground content, consistent background light.

A gallery image ``r`` qualifies for a composite with foreground ``f`` and background ``b`` when

* (eq. 3) some foreground cell and some gallery cell have content cosine similarity ``⟨c_f^i, c_r^j⟩ ≥ ε_c``, and
* (eq. 5) some background cell and some gallery cell have both ``⟨c_b^i, c_r^j⟩ ≥ ε_c`` and HSV-histogram
  cosine similarity ``⟨a_b^i, a_r^j⟩ ≥ ε_a`` (the same pair: similar stuff that looks the same → same light).

Qualifying images are ranked by their foreground content score, ties by the illumination score. The paper
leaves bins, patch size and the histogram similarity open; here ``⟨·,·⟩`` is the cosine similarity for both
(the paper's notation), cells are a ``grid × grid`` partition (default 8×8), bins (8, 4, 4) over H, S, V.
"""
from __future__ import annotations

import os.path as osp
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Iterable, Optional, Sequence, Union

import cv2
import numpy as np
import torch
from torch import Tensor, nn

from toolkit.interfaces import BaseRetriever, RetrievedReference
from toolkit.registry import MODELS, RETRIEVERS

from .gallery import GalleryError, GalleryIndex, shard_folder
from .patches import hsv_patch_histograms, pool_patch_features


@dataclass
class QueryDescriptors:
    """Descriptors of one composite: ``foreground (M, D)``, ``background (K, D)`` content unit vectors and
    ``background_hsv (K, B)`` unit histograms of the background cells."""
    foreground: Tensor
    background: Tensor
    background_hsv: Tensor


@dataclass
class GalleryScores:
    """Per gallery image: best foreground content similarity, best HSV similarity over background pairs that
    pass the content threshold (−1 when none does), and whether both thresholds are met."""
    content: Tensor
    illumination: Tensor
    qualifies: Tensor


def score_gallery(query: QueryDescriptors, content: Tensor, hsv: Tensor, content_threshold: float = 0.7,
                  illumination_threshold: float = 0.9, illumination_max: Optional[float] = None) -> GalleryScores:
    """Exact eqs. 3 and 5 for ``n`` gallery images.

    Args:
        content: ``(n, P, D)`` unit content vectors of the gallery cells.
        hsv: ``(n, P, B)`` unit HSV histograms of the same cells.
        illumination_max: an upper bound on the illumination score (Table III's bands such as
            ``0.7 ≤ ε_a ≤ 0.8``: references whose best matching light is only that close); ``None`` = none.

    Example:
        >>> q = QueryDescriptors(torch.tensor([[1., 0.]]), torch.tensor([[0., 1.]]), torch.tensor([[1., 0.]]))
        >>> gallery = torch.tensor([[[1., 0.], [0., 1.]]])            # one image, two cells
        >>> same_light = torch.tensor([[[0., 1.], [1., 0.]]])         # its 2nd cell looks like the background
        >>> score_gallery(q, gallery, same_light).qualifies.tolist()
        [True]
        >>> score_gallery(q, gallery, same_light.flip(-1)).qualifies.tolist()   # different appearance
        [False]
    """
    n, patches, dim = content.shape
    flat = content.reshape(n * patches, dim).float()
    if len(query.foreground):
        content_score = (flat @ query.foreground.T.float()).reshape(n, -1).amax(dim=1)
    else:
        content_score = torch.full((n,), -1.0)
    if len(query.background):
        background_content = (flat @ query.background.T.float()).reshape(n, patches, -1)
        appearance = (hsv.reshape(n * patches, -1).float() @ query.background_hsv.T.float()).reshape(n, patches, -1)
        appearance = appearance.masked_fill(background_content < content_threshold, -1.0)
        illumination = appearance.reshape(n, -1).amax(dim=1)
    else:
        illumination = torch.full((n,), -1.0)
    qualifies = (content_score >= content_threshold) & (illumination >= illumination_threshold)
    if illumination_max is not None:
        qualifies &= illumination <= illumination_max
    return GalleryScores(content_score, illumination, qualifies)


def _read_rgb(path: str, size: int) -> np.ndarray:
    from toolkit.datasets.io import read_image
    return cv2.resize(read_image(path), (size, size), interpolation=cv2.INTER_AREA)


@RETRIEVERS.register_module()
class HarmonizationRetriever(BaseRetriever):
    """Raiha's retrieval over an on-disk :class:`~toolkit.retrieval.gallery.GalleryIndex`.

    Args:
        encoder: a :class:`~toolkit.retrieval.encoders.DenseContentEncoder` config (or module).
        gallery: gallery folder; opened when it exists, created by :meth:`build_index` otherwise.
        grid: cells per side of the patch partition (content and HSV alike).
        hist_bins: HSV histogram bins.
        content_threshold: ε_c (0.7 in the paper).
        illumination_threshold: ε_a (0.9 in the paper).
        illumination_max: optional upper bound on the illumination score (Table III's "inconsistent
            illumination" bands, e.g. 0.7–0.8); ``None`` = none (the paper's retrieval).
        min_region_share: a composite cell counts as foreground (background) when at least this share of
            it is foreground (background); a foreground smaller than every cell uses its largest cell.
        backend: ``'brute'`` (exact: every gallery cell scored), ``'faiss'`` (k-NN candidates verified exactly
            in order, see :meth:`query_batch`), or ``'auto'`` (FAISS when the gallery has a FAISS index and at
            least ``faiss_min_images`` images).
        nprobe: IVF lists visited per foreground cell.
        faiss_threads: OpenMP threads of FAISS searches (1: on a busy 2-core machine more threads are
            2–3× slower, measured).
        error_margin: the stop rule's margin δ as a multiple of the index's measured score error (the largest
            |approximate − exact| seen when it was built), for errors larger than any sampled.
        hsv_prefilter_min: the HSV prefilter of the FAISS path runs only when ε_a is at least this: an IVF range
            search finds near neighbours reliably, far ones (a low ε_a such as Table III's 0.7) not, so below it
            the content candidates are verified without the prefilter (exact as ever, slower).
        chunk_images: gallery images scored per matrix product on the brute path.
        batch_size, num_workers: encoder batch and image-reading threads when indexing.
        device: where the encoder and the scoring run.
    """

    def __init__(self, encoder: Union[dict, nn.Module], gallery: Optional[str] = None, grid: int = 8,
                 hist_bins: Sequence[int] = (8, 4, 4), content_threshold: float = 0.7,
                 illumination_threshold: float = 0.9, illumination_max: Optional[float] = None,
                 min_region_share: float = 0.25, backend: str = 'auto', faiss_min_images: int = 20_000,
                 nprobe: int = 16, faiss_threads: int = 1, error_margin: float = 1.5, hsv_prefilter_min: float = 0.85,
                 chunk_images: int = 2048,
                 batch_size: int = 8, num_workers: int = 2, device: str = 'cpu'):
        if backend not in ('auto', 'brute', 'faiss'):
            raise ValueError(f"backend must be 'auto', 'brute' or 'faiss'; got {backend!r}")
        bounds = [content_threshold, illumination_threshold] + ([] if illumination_max is None else [illumination_max])
        if not all(-1 <= value <= 1 for value in bounds):
            raise ValueError(f'thresholds are cosine similarities in [-1, 1]; got {bounds}')
        if illumination_max is not None and illumination_max < illumination_threshold:
            raise ValueError(f'illumination_max {illumination_max} is below illumination_threshold '
                             f'{illumination_threshold}: no image could qualify')
        self.encoder = MODELS.build(encoder) if isinstance(encoder, dict) else encoder
        self.encoder.to(device).eval()
        self.grid = grid
        self.hist_bins = tuple(int(b) for b in hist_bins)
        self.content_threshold = content_threshold
        self.illumination_threshold = illumination_threshold
        self.illumination_max = illumination_max
        self.min_region_share = min_region_share
        self.backend = backend
        self.faiss_min_images = faiss_min_images
        self.nprobe = nprobe
        self.faiss_threads = faiss_threads
        self.error_margin = error_margin
        self.hsv_prefilter_min = hsv_prefilter_min
        self.last_stats: dict = {}
        self.chunk_images = chunk_images
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.device = torch.device(device)
        self.gallery_folder = gallery
        self.gallery: Optional[GalleryIndex] = None
        if gallery is not None and osp.isfile(osp.join(gallery, 'index.json')):
            self.open_gallery(gallery)

    # ------------------------------------------------------------------ descriptors
    @property
    def encoder_identity(self) -> dict:
        return getattr(self.encoder, 'identity', dict(type=type(self.encoder).__name__))

    @torch.no_grad()
    def content_maps(self, images: Sequence[np.ndarray]) -> Tensor:
        """``(H, W, 3)`` uint8 RGB images (resized to the encoder input) → ``(n, D, h, w)`` feature maps."""
        size = self.encoder.input_size
        batch = np.stack([image if image.shape[:2] == (size, size) else
                          cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA) for image in images])
        tensor = torch.from_numpy(batch).to(self.device).permute(0, 3, 1, 2).float() / 255
        return self.encoder(tensor).float().cpu()

    def describe_images(self, images: Sequence[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Gallery descriptors: ``content (n, P, D)`` and ``hsv (n, P, B)`` float32 unit vectors."""
        maps = self.content_maps(images)
        content = np.stack([pool_patch_features(feature_map, self.grid)[0].numpy() for feature_map in maps])
        hsv = np.stack([hsv_patch_histograms(image, self.grid, self.hist_bins) for image in images])
        return content, hsv

    def describe_composite(self, composite: np.ndarray, mask: np.ndarray,
                           content_map: Optional[Tensor] = None) -> QueryDescriptors:
        """Foreground/background cell descriptors of a composite (``(H, W, 3)`` uint8, ``(H, W)`` mask in [0, 1])."""
        if composite.ndim != 3 or composite.shape[2] != 3:
            raise ValueError(f'composite must be (H, W, 3) uint8 RGB; got {composite.shape}')
        mask = np.asarray(mask, dtype=np.float32)
        if mask.shape != composite.shape[:2]:
            raise ValueError(f'mask {mask.shape} does not match the composite {composite.shape[:2]}')
        if not (mask > 0.5).any():
            raise ValueError('mask is empty: a composite needs a foreground to retrieve for')
        if content_map is None:
            content_map = self.content_maps([composite])[0]
        foreground, foreground_share = pool_patch_features(content_map, self.grid, mask)
        background, background_share = pool_patch_features(content_map, self.grid, 1 - mask)
        hsv = torch.from_numpy(hsv_patch_histograms(composite, self.grid, self.hist_bins, weights=1 - mask))
        fg_cells = foreground_share >= self.min_region_share
        if not fg_cells.any():
            fg_cells = foreground_share == foreground_share.max()
        bg_cells = background_share >= self.min_region_share
        return QueryDescriptors(foreground[fg_cells], background[bg_cells], hsv[bg_cells])

    # ------------------------------------------------------------------ gallery
    def open_gallery(self, folder: str) -> GalleryIndex:
        gallery = GalleryIndex.open(folder)
        expected = dict(grid=self.grid, hist_bins=list(self.hist_bins), dim=self.encoder.feature_dim)
        for key, value in expected.items():
            if gallery.meta[key] != value:
                raise GalleryError(f'{folder}: built with {key}={gallery.meta[key]!r}, this retriever uses {value!r}')
        if gallery.meta.get('encoder') != self.encoder_identity:
            raise GalleryError(f'{folder}: built with encoder {gallery.meta.get("encoder")}, this retriever uses '
                               f'{self.encoder_identity}; features from different encoders are not comparable')
        self.gallery = gallery
        self.gallery_folder = folder
        return gallery

    def extend_gallery(self, paths: Sequence[str], folder: str, root: str, rank: int = 0, world: int = 1,
                       progress: bool = True) -> tuple[Optional[GalleryIndex], int]:
        """Index the images of ``paths`` that the gallery at ``folder`` does not hold yet (all, for a new one).

        With ``world`` processes (torchrun), process ``rank`` indexes a contiguous share into its own shard folder
        (:func:`~toolkit.retrieval.gallery.shard_folder`; a previous failed run's shard is redone), and after a
        barrier rank 0 appends the shards in order to the gallery and removes them.

        Returns:
            ``(gallery, images added)`` on rank 0; ``(None, images this rank indexed)`` elsewhere.
        """
        if osp.isfile(osp.join(folder, 'index.json')):
            paths = self.open_gallery(folder).unindexed(paths)
        paths = [osp.abspath(path) for path in paths]
        if world == 1:
            before = len(self.gallery) if self.gallery is not None and self.gallery_folder == folder else 0
            gallery = self.build_index(paths, folder=folder, root=root, progress=progress)
            return gallery, len(gallery) - before
        share = paths[rank * len(paths) // world:(rank + 1) * len(paths) // world]
        shard = shard_folder(folder, rank, world)
        if osp.isdir(shard):
            shutil.rmtree(shard)  # a previous failed run's leftovers
        self.build_index(share, folder=shard, root=root, progress=progress and rank == 0)
        from mmengine.dist import barrier
        barrier()
        if rank != 0:
            return None, len(share)
        gallery = GalleryIndex.merge_shards(folder, world, self.grid, self.encoder.feature_dim, self.hist_bins,
                                            encoder=self.encoder_identity, root=root)
        return gallery, len(paths)

    def build_index(self, gallery: Iterable[str], folder: Optional[str] = None, root: Optional[str] = None,
                    progress: bool = False) -> GalleryIndex:
        """Add image paths to the gallery folder (created if needed); paths already indexed are skipped.

        Args:
            gallery: image paths.
            folder: gallery folder (default: the one given at construction).
            root: paths are stored relative to it (keeps a gallery portable with its dataset).
        """
        folder = folder or self.gallery_folder
        if folder is None:
            raise ValueError('build_index needs a gallery folder (the gallery= argument or folder=)')
        index = GalleryIndex.create(folder, self.grid, self.encoder.feature_dim, self.hist_bins,
                                    encoder=self.encoder_identity, root=root, exist_ok=True)
        self.gallery, self.gallery_folder = index, folder
        known = {osp.normpath(index.absolute_path(i)) for i in range(len(index))}
        absolute = [path for path in dict.fromkeys(path if osp.isabs(path) or root is None else osp.join(root, path)
                                                   for path in gallery) if osp.normpath(path) not in known]
        size = self.encoder.input_size
        step = self.batch_size * 8  # images per append (bounded memory, periodic durable progress)
        from rich.progress import Progress
        with Progress(disable=not progress) as bar, ThreadPoolExecutor(self.num_workers) as pool:
            task = bar.add_task('indexing gallery', total=len(absolute))
            for start in range(0, len(absolute), step):
                images = list(pool.map(lambda path: _read_rgb(path, size), absolute[start:start + step]))
                contents, histograms = [], []
                for offset in range(0, len(images), self.batch_size):
                    content, hsv = self.describe_images(images[offset:offset + self.batch_size])
                    contents.append(content)
                    histograms.append(hsv)
                    bar.advance(task, len(content))
                index.add(absolute[start:start + step], np.concatenate(contents), np.concatenate(histograms),
                          save_faiss=False)
        index.save_faiss()
        return index

    # ------------------------------------------------------------------ search
    def _use_faiss(self) -> bool:
        if self.backend == 'brute':
            return False
        if self.backend == 'faiss':
            return True
        return self.gallery.has_faiss and len(self.gallery) >= self.faiss_min_images

    def _exact_scores(self, query: QueryDescriptors, ids) -> GalleryScores:
        """Eqs. 3/5 from the float16 store for gallery images ``ids`` (sorted indices, or a slice)."""
        content = torch.from_numpy(np.asarray(self.gallery.content[ids], dtype=np.float32)).to(self.device)
        hsv = torch.from_numpy(np.asarray(self.gallery.hsv[ids], dtype=np.float32)).to(self.device)
        scores = score_gallery(query, content, hsv, self.content_threshold, self.illumination_threshold,
                               self.illumination_max)
        return GalleryScores(scores.content.cpu(), scores.illumination.cpu(), scores.qualifies.cpu())

    def _verify(self, query: QueryDescriptors, ids: np.ndarray) -> GalleryScores:
        """Exact eqs. 3/5 for candidate images ``ids`` (sorted), equal to :func:`score_gallery` for every image
        that qualifies, reading little: eq. 5 needs a (background cell, gallery cell) pair with HSV similarity
        ≥ ε_a, so the histograms come first and content is read only for gallery cells in such a pair; the full
        content of an image (for its eq. 3 score) only once it passes eq. 5. Images ruled out get content −1."""
        count = len(ids)
        content_score = torch.full((count,), -1.0)
        illumination = torch.full((count,), -1.0)
        qualifies = torch.zeros(count, dtype=torch.bool)
        if not (len(query.background) and len(query.foreground)):
            return GalleryScores(content_score, illumination, qualifies)
        hsv = torch.from_numpy(np.asarray(self.gallery.hsv[ids], dtype=np.float32))
        appearance = hsv @ query.background_hsv.T.float()                    # (n, P, K)
        lit = appearance >= self.illumination_threshold
        images, cells = torch.nonzero(lit.any(dim=2), as_tuple=True)
        if not len(images):
            return GalleryScores(content_score, illumination, qualifies)
        images_np, cells_np = images.numpy(), cells.numpy()
        lit_content = torch.from_numpy(np.asarray(self.gallery.content[ids[images_np], cells_np], dtype=np.float32))
        same_stuff = (lit_content @ query.background.T.float()) >= self.content_threshold    # (m, K)
        pair_light = appearance[images, cells].masked_fill(~same_stuff, -1.0).amax(dim=1)   # (m,)
        illumination.scatter_reduce_(0, images, pair_light, reduce='amax')
        lit_images = illumination >= self.illumination_threshold
        if self.illumination_max is not None:
            lit_images &= illumination <= self.illumination_max
        keep = np.flatnonzero(lit_images.numpy())
        if len(keep):
            full = torch.from_numpy(np.asarray(self.gallery.content[ids[keep]], dtype=np.float32))
            content_score[keep] = (full.flatten(0, 1) @ query.foreground.T.float()).view(len(keep), -1).amax(dim=1)
            qualifies[keep] = content_score[keep] >= self.content_threshold
        return GalleryScores(content_score, illumination, qualifies)

    def score(self, query: QueryDescriptors, candidates: Optional[np.ndarray] = None
              ) -> tuple[np.ndarray, GalleryScores]:
        """Exact scores of the gallery images (all, or ``candidates`` indices) for one query."""
        if self.gallery is None:
            raise GalleryError('no gallery: build_index() first or pass gallery= an existing folder')
        ids = np.arange(len(self.gallery)) if candidates is None else np.asarray(candidates, dtype=np.int64)
        parts = []
        for start in range(0, len(ids), self.chunk_images):
            chunk = ids[start:start + self.chunk_images]
            if candidates is None:  # contiguous slice: a straight read of the memmap
                chunk = slice(int(chunk[0]), int(chunk[-1]) + 1)
            parts.append(self._exact_scores(query, chunk))
        if not parts:
            empty = torch.zeros(0)
            return ids, GalleryScores(empty, empty, empty.bool())
        return ids, GalleryScores(*(torch.cat([getattr(p, name) for p in parts])
                                    for name in ('content', 'illumination', 'qualifies')))

    def _ranked(self, ids: np.ndarray, scores: GalleryScores, k: int, excluded: set) -> list[RetrievedReference]:
        """Qualifying images, best content first (ties: illumination, then index), without ``excluded``."""
        keep = scores.qualifies.numpy()
        order = np.lexsort((ids, -scores.illumination.numpy(), -scores.content.numpy()))
        results = []
        for position in order:
            if not keep[position]:
                continue
            path = self.gallery.absolute_path(int(ids[position]))
            if excluded and osp.normpath(osp.abspath(path)) in excluded:
                continue
            results.append(RetrievedReference(path=path, score=float(scores.content[position]),
                                              extra=dict(index=int(ids[position]),
                                                         content=float(scores.content[position]),
                                                         illumination=float(scores.illumination[position]))))
            if len(results) == k:
                break
        return results

    def query(self, composite: np.ndarray, mask: np.ndarray, k: int = 5, exclude: Iterable[str] = (),
              descriptors: Optional[QueryDescriptors] = None) -> list[RetrievedReference]:
        """Up to ``k`` qualifying gallery images, best first (``exclude``: paths never returned, e.g. the
        composite's own target). ``extra`` holds ``index``, ``content`` and ``illumination`` scores."""
        query = descriptors if descriptors is not None else self.describe_composite(composite, mask)
        return self.query_batch([query], k=k, excludes=[exclude])[0]

    def query_batch(self, queries: Sequence[QueryDescriptors], k: int = 5,
                    excludes: Optional[Sequence[Iterable[str]]] = None) -> list[list[RetrievedReference]]:
        """:meth:`query` for many composites' descriptors at once (one FAISS search per round for all).

        The FAISS path returns what the exact path returns, barring IVF misses (``nprobe``) and code errors
        beyond the margins ``δ`` (``error_margin`` × each index's measured error):

        1. a range search of the background cells' HSV histograms at ``ε_a − δ_a`` over the gallery cells'
           histogram codes finds every image that can pass eq. 5 (it needs such a pair) — when ε_a is at least
           ``hsv_prefilter_min`` (far neighbours are where IVF misses);
        2. among those only (a FAISS ID selector), a range search of the foreground cells at ``ε_c − δ`` over the
           content codes finds every image that can pass eq. 3; each gets its best approximate similarity ``s̃``;
        3. candidates are verified exactly (eqs. 3/5 from the float16 store) in decreasing ``s̃``, and
           verification stops once ``k`` images qualify and the next ``s̃ + δ`` is below the k-th exact content
           score: no later candidate can enter the top k.
        """
        if self.gallery is None:
            raise GalleryError('no gallery: build_index() first or pass gallery= an existing folder')
        excludes = [()] * len(queries) if excludes is None else list(excludes)
        excluded = [{osp.normpath(osp.abspath(path)) for path in paths} for paths in excludes]
        if not self._use_faiss():
            results = []
            for query, skip in zip(queries, excluded):
                ids, scores = self.score(query)
                results.append(self._ranked(ids, scores, k, skip))
            self.last_stats = dict(backend='brute', verified=[len(self.gallery)] * len(queries))
            return results
        return self._faiss_query_batch(queries, k, excluded)

    def _faiss_query_batch(self, queries: Sequence[QueryDescriptors], k: int, excluded: list[set]
                           ) -> list[list[RetrievedReference]]:
        # FAISS and torch share OpenMP's thread count here: give FAISS its own, then restore torch's
        threads = torch.get_num_threads()
        try:
            return self._faiss_search(queries, k, excluded)
        finally:
            torch.set_num_threads(threads)

    def _faiss_search(self, queries: Sequence[QueryDescriptors], k: int, excluded: list[set]
                      ) -> list[list[RetrievedReference]]:
        import faiss
        content_index, hsv_index = self.gallery.faiss_index('content'), self.gallery.faiss_index('hsv')
        meta = self.gallery.faiss_meta
        margin = self.error_margin * float(meta.get('score_error', 0.0))
        hsv_margin = self.error_margin * float(meta.get('hsv_score_error', 0.0))
        faiss.omp_set_num_threads(self.faiss_threads)
        patches, total = self.gallery.patches, content_index.ntotal
        # eq. 5 needs a gallery cell whose histogram is within ε_a of some background cell: one search for all
        background = [query.background_hsv.numpy() for query in queries if len(query.foreground)
                      and len(query.background)]
        prefilter = self.illumination_threshold >= self.hsv_prefilter_min
        hsv_hits = None
        if background and prefilter:
            hsv_hits = hsv_index.range_search(np.ascontiguousarray(np.concatenate(background), dtype=np.float32),
                                              float(self.illumination_threshold - hsv_margin),
                                              params=faiss.SearchParametersIVF(nprobe=self.nprobe))
        results, verified, row = [], [], 0
        for query, skip in zip(queries, excluded):
            if not (len(query.foreground) and len(query.background)):
                results.append([])  # no foreground cell, or no background cell: eq. 3 or eq. 5 cannot hold
                verified.append(0)
                continue
            params = faiss.SearchParametersIVF(nprobe=self.nprobe)
            if prefilter:
                limits, _, labels = hsv_hits
                cells = len(query.background_hsv)
                lit = np.unique(labels[int(limits[row]):int(limits[row + cells])] // patches)
                row += cells
                if not len(lit):
                    results.append([])
                    verified.append(0)
                    continue
                # eq. 3 candidates among the images that can pass eq. 5: the selector keeps the others out of the hits
                bitmap = _image_bitmap(lit, patches, total)
                params = faiss.SearchParametersIVF(sel=faiss.IDSelectorBitmap(total, faiss.swig_ptr(bitmap)),
                                                   nprobe=self.nprobe)
            found = content_index.range_search(np.ascontiguousarray(query.foreground.numpy(), dtype=np.float32),
                                               float(self.content_threshold - margin), params=params)
            _, scores, labels_fg = found
            images = labels_fg // patches
            order = np.argsort(images, kind='stable')
            candidates, starts = np.unique(images[order], return_index=True)
            best = np.maximum.reduceat(scores[order], starts) if len(candidates) else scores[:0]
            state = dict(verified={}, results=[], kth=None)
            self._verify_in_order(query, state, candidates, best, k, skip, margin)
            results.append(state['results'])
            verified.append(len(state['verified']))
        self.last_stats = dict(backend='faiss', verified=verified, score_error=margin, hsv_score_error=hsv_margin)
        return results

    def _verify_in_order(self, query: QueryDescriptors, state: dict, candidates: np.ndarray, approximate: np.ndarray,
                         k: int, excluded: set, margin: float, batch: int = 8, max_batch: int = 64) -> None:
        """Exact scores for ``candidates`` in decreasing approximate score until no later one can enter the
        top k (its approximate score + ``margin`` is below the k-th exact content score); keeps
        ``state['results']`` (the current top k) and ``state['kth']`` (its k-th content score)."""
        verified = state['verified']
        order = np.argsort(-approximate, kind='stable')
        position = 0
        while position < len(order):
            kth = state['kth']
            if kth is not None and approximate[order[position]] + margin < kth:
                break
            chunk = np.sort(candidates[order[position:position + batch]])
            position += batch
            batch = min(2 * batch, max_batch)  # long verifications amortise the per-batch overhead
            scores = self._verify(query, chunk)
            for j, image in enumerate(chunk.tolist()):
                verified[image] = (float(scores.content[j]), float(scores.illumination[j]), bool(scores.qualifies[j]))
            ids = np.fromiter(verified, dtype=np.int64, count=len(verified))
            values = np.array(list(verified.values()), dtype=np.float64).reshape(-1, 3)
            ranked = self._ranked(ids, GalleryScores(torch.from_numpy(values[:, 0]), torch.from_numpy(values[:, 1]),
                                                     torch.from_numpy(values[:, 2] > 0)), k, excluded)
            state['results'] = ranked
            state['kth'] = ranked[-1].score if len(ranked) == k else None


def _image_bitmap(images: np.ndarray, patches: int, total: int) -> np.ndarray:
    """FAISS ``IDSelectorBitmap`` bytes selecting every cell of ``images`` (cell id = image · patches + j)."""
    if patches % 8 == 0:  # each image owns whole bytes
        bitmap = np.zeros(total // 8, dtype=np.uint8)
        bitmap.reshape(-1, patches // 8)[images] = 0xFF
        return bitmap
    allowed = np.zeros(total, dtype=bool)
    allowed[(images[:, None] * patches + np.arange(patches)).ravel()] = True
    return np.packbits(allowed, bitorder='little')


def build_retriever(config: str, gallery: Optional[str] = None, device: Optional[str] = None,
                    cfg_options: Optional[dict] = None) -> HarmonizationRetriever:
    """The ``retriever`` of an MMEngine config file (e.g. ``configs/retrieval/*.py``) with a gallery folder."""
    from toolkit.config import read_config
    cfg = read_config(config, cfg_options=cfg_options)
    if 'retriever' not in cfg:
        raise KeyError(f'{config}: no `retriever = dict(...)` in this config')
    spec = cfg.retriever.to_dict()
    if gallery is not None:
        spec['gallery'] = gallery
    if device is not None:
        spec['device'] = device
    return RETRIEVERS.build(spec)


#: the repository's retrieval config (the tools' default; present in a source checkout)
DEFAULT_RETRIEVAL_CONFIG = osp.join(osp.dirname(__file__), '..', '..', 'configs', 'retrieval',
                                    'raiha-retrieval_dinov2-reg-b14-448.py')


def add_retriever_arguments(parser) -> None:
    """``--config``, ``--device`` and ``--cfg-options``, shared by the retrieval tools."""
    from mmengine.config import DictAction
    parser.add_argument('--config', default=DEFAULT_RETRIEVAL_CONFIG, help='retrieval config (a `retriever` dict)')
    parser.add_argument('--device', help="encoder device, e.g. 'cuda'")
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, help='override config entries')
