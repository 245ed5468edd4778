"""Retrieval performance: encoder throughput, query latency vs gallery size (exact vs FAISS), bytes per image.

Synthetic galleries are clustered unit vectors (4096 centres + noise, cosine ≈ 0.8 within a centre) so that a realistic share of gallery
patches passes ε_c for a query built from one gallery image; timings therefore include real candidate sets.
"""
from __future__ import annotations

import os.path as osp
import time
from typing import Optional, Sequence

import numpy as np
import torch

from toolkit.retrieval import DenseContentEncoder, GalleryIndex, HarmonizationRetriever, QueryDescriptors


def encoder_throughput(batch_size: int = 8, batches: int = 3, input_size: int = 448, device: str = 'cpu') -> dict:
    """Images/s of the ViT-B/14 (random weights: same compute as the released ones) + pooling + HSV histograms."""
    encoder = DenseContentEncoder(input_size=input_size).to(device)
    retriever = HarmonizationRetriever(encoder, device=device)
    rng = np.random.default_rng(0)
    images = [rng.integers(0, 256, (input_size, input_size, 3), dtype=np.uint8) for _ in range(batch_size)]
    retriever.describe_images(images[:1])  # warm-up
    start = time.perf_counter()
    for _ in range(batches):
        retriever.describe_images(images)
    seconds = time.perf_counter() - start
    return dict(batch_size=batch_size, images=batch_size * batches, seconds=seconds,
                images_per_second=batch_size * batches / seconds, device=device,
                threads=torch.get_num_threads())


def synthetic_gallery(folder: str, count: int, grid: int = 8, dim: int = 768, bins: Sequence[int] = (8, 4, 4),
                      centres: int = 4096, noise: float = 0.5, seed: int = 0, chunk: int = 2000) -> GalleryIndex:
    """A gallery of ``count`` synthetic images (re-used when the folder already holds that many)."""
    encoder_identity = dict(type='synthetic', dim=dim)
    if osp.isfile(osp.join(folder, 'index.json')):
        gallery = GalleryIndex.open(folder)
        if len(gallery) == count:
            return gallery
        raise RuntimeError(f'{folder} holds {len(gallery)} images, not {count}; remove it')
    gallery = GalleryIndex.create(folder, grid, dim, bins, encoder=encoder_identity)
    rng = np.random.default_rng(seed)
    content_centres = rng.standard_normal((centres, dim)).astype(np.float32)
    hsv_centres = rng.random((centres, int(np.prod(bins)))).astype(np.float32) ** 4
    patches = grid * grid
    for start in range(0, count, chunk):
        n = min(chunk, count - start)
        labels = rng.integers(0, centres, (n, patches))
        content = content_centres[labels] + noise * rng.standard_normal((n, patches, dim)).astype(np.float32)
        content /= np.linalg.norm(content, axis=-1, keepdims=True)
        hsv = hsv_centres[labels] + 0.05 * rng.random((n, patches, hsv_centres.shape[1])).astype(np.float32)
        hsv /= np.linalg.norm(hsv, axis=-1, keepdims=True)
        gallery.add([f'synthetic/{start + i:07d}.jpg' for i in range(n)], content, hsv)
    return gallery


def _queries(gallery: GalleryIndex, count: int, seed: int = 1) -> list[QueryDescriptors]:
    rng = np.random.default_rng(seed)
    queries = []
    for index in rng.integers(0, len(gallery), count):
        content = torch.from_numpy(np.asarray(gallery.content[index], dtype=np.float32))
        hsv = torch.from_numpy(np.asarray(gallery.hsv[index], dtype=np.float32))
        order = torch.from_numpy(rng.permutation(gallery.patches))
        split = max(1, gallery.patches // 4)   # a quarter of the cells is foreground
        foreground, background = order[:split], order[split:]
        queries.append(QueryDescriptors(content[foreground], content[background], hsv[background]))
    return queries


def query_latency(gallery: GalleryIndex, queries: int = 5, k: int = 5, nprobe: int = 32,
                  nlist: Optional[int] = None, device: str = 'cpu') -> dict:
    """Mean seconds per query, exact (torch) and FAISS IVF (built here if missing), and FAISS recall@k."""
    encoder = torch.nn.Module()
    encoder.feature_dim, encoder.input_size = gallery.dim, 448
    encoder.identity = gallery.meta['encoder']
    common = dict(grid=gallery.grid, hist_bins=gallery.hist_bins, device=device)
    brute = HarmonizationRetriever(encoder, gallery=gallery.folder, backend='brute', **common)
    descriptors = _queries(gallery, queries)
    result = dict(images=len(gallery), bytes_per_image=gallery.bytes_per_image,
                  gallery_mib=gallery.bytes_per_image * len(gallery) / 2 ** 20)
    start = time.perf_counter()
    exact = [brute.query(None, None, k=k, descriptors=query) for query in descriptors]
    result['brute_seconds_per_query'] = (time.perf_counter() - start) / queries
    if not gallery.has_faiss:
        start = time.perf_counter()
        gallery.build_faiss(nlist=nlist)
        result['faiss_build_seconds'] = time.perf_counter() - start
    result['faiss_index_mib'] = osp.getsize(osp.join(gallery.folder, 'faiss.index')) / 2 ** 20
    approximate = HarmonizationRetriever(encoder, gallery=gallery.folder, backend='faiss', nprobe=nprobe, **common)
    approximate.query(None, None, k=k, descriptors=descriptors[0])  # loads the index
    start = time.perf_counter()
    found = [approximate.query(None, None, k=k, descriptors=query) for query in descriptors]
    result['faiss_seconds_per_query'] = (time.perf_counter() - start) / queries
    hits = sum(len({r.path for r in a} & {r.path for r in e}) for a, e in zip(found, exact))
    result['faiss_recall_at_k'] = hits / max(1, sum(len(e) for e in exact))
    result['mean_results'] = float(np.mean([len(e) for e in exact]))
    result['nprobe'] = nprobe
    return result
