"""Retrieval performance: encoder throughput, query latency vs gallery size (exact vs FAISS), bytes per image.

Synthetic galleries (:class:`SceneModel`) are scenes of Zipf-distributed concepts under a few lightings, so
queries have realistic candidate sets: popular concepts match thousands of images, rare ones a few.
"""
from __future__ import annotations

import os.path as osp
import time
from typing import Optional, Sequence

import numpy as np
import torch

from toolkit.retrieval import DenseContentEncoder, GalleryIndex, HarmonizationRetriever, QueryDescriptors
from toolkit.retrieval.retriever import GalleryScores, score_gallery


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


class SceneModel:
    """Synthetic descriptors with the structure retrieval depends on (no encoder needed).

    A scene holds 2–6 *concepts* (drawn Zipf-like from ``concepts``: a few are everywhere, like sky or people,
    most are rare), each over a run of cells. A cell's content vector is
    ``concept + 0.4·shared + σ·instance + 0.3·noise`` (unit parts; σ ∈ [0.3, 1.1] per scene and concept), so
    the same concept in two scenes has cosine ≈ 0.45–0.85 and unrelated cells ≈ 0.1 (ViT features share a
    common direction). Its HSV histogram is the concept's histogram under one of ``lights`` lightings plus noise:
    same concept and light → cosine > 0.9, other light → far lower.
    """

    def __init__(self, dim: int = 768, num_bins: int = 128, concepts: int = 2000, lights: int = 8, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.dim, self.num_bins, self.lights = dim, num_bins, lights
        self.concepts = _unit(rng.standard_normal((concepts, dim)))
        self.shared = _unit(rng.standard_normal(dim))
        self.popularity = 1.0 / np.arange(1, concepts + 1) ** 0.9
        self.popularity /= self.popularity.sum()
        self.histograms = _unit(rng.random((concepts, lights, num_bins)) ** 6)

    def scenes(self, count: int, patches: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``content (n, P, D)``, ``hsv (n, P, B)`` float32 unit vectors and ``labels (n, P)`` concept ids."""
        labels = np.empty((count, patches), np.int64)
        content = np.empty((count, patches, self.dim), np.float32)
        hsv = np.empty((count, patches, self.num_bins), np.float32)
        for index in range(count):
            chosen = rng.choice(len(self.concepts), size=rng.integers(2, 7), replace=False, p=self.popularity)
            cuts = np.sort(rng.choice(np.arange(1, patches), size=len(chosen) - 1, replace=False))
            cell_concept = np.repeat(chosen, np.diff(np.concatenate([[0], cuts, [patches]])))
            spread = dict(zip(chosen, rng.uniform(0.3, 1.1, len(chosen))))
            instance = {c: _unit(rng.standard_normal(self.dim)) for c in chosen}
            light = rng.integers(0, self.lights)
            vectors = (self.concepts[cell_concept] + 0.4 * self.shared
                       + np.stack([spread[c] * instance[c] for c in cell_concept])
                       + 0.3 * _unit(rng.standard_normal((patches, self.dim))))
            content[index] = _unit(vectors)
            hsv[index] = _unit(self.histograms[cell_concept, light]
                               + 0.02 * rng.random((patches, self.num_bins)))
            labels[index] = cell_concept
        return content, hsv, labels


def _unit(array: np.ndarray) -> np.ndarray:
    return (array / np.linalg.norm(array, axis=-1, keepdims=True)).astype(np.float32)


def synthetic_gallery(folder: str, count: int, grid: int = 8, dim: int = 768, bins: Sequence[int] = (8, 4, 4),
                      seed: int = 0, chunk: int = 2000, progress: bool = False) -> GalleryIndex:
    """A gallery of ``count`` synthetic scenes (:class:`SceneModel`), re-used when the folder already holds it."""
    encoder_identity = dict(type='synthetic-scenes', dim=dim, seed=seed)
    if osp.isfile(osp.join(folder, 'index.json')):
        gallery = GalleryIndex.open(folder)
        if len(gallery) == count and gallery.meta.get('encoder') == encoder_identity:
            return gallery
        raise RuntimeError(f'{folder} holds another gallery ({len(gallery)} images); remove it')
    gallery = GalleryIndex.create(folder, grid, dim, bins, encoder=encoder_identity)
    model = SceneModel(dim, int(np.prod(bins)), seed=seed)
    rng = np.random.default_rng(seed + 1)
    from rich.progress import track
    for start in track(range(0, count, chunk), description=f'synthetic gallery {count}', disable=not progress):
        n = min(chunk, count - start)
        content, hsv, _ = model.scenes(n, grid * grid, rng)
        gallery.add([f'synthetic/{start + i:07d}.jpg' for i in range(n)], content, hsv)
    return gallery


def synthetic_queries(gallery: GalleryIndex, count: int, seed: int = 1, foreground_share=(0.1, 0.5)
                      ) -> list[QueryDescriptors]:
    """Composites from new scenes of the gallery's :class:`SceneModel`: a random block of cells (10–50 %) is the
    foreground, the rest background (their content and HSV descriptors)."""
    meta = gallery.meta.get('encoder') or {}
    model = SceneModel(gallery.dim, gallery.num_bins, seed=meta.get('seed', 0))
    rng = np.random.default_rng(10_000 + seed)
    content, hsv, _ = model.scenes(count, gallery.patches, rng)
    queries = []
    for index in range(count):
        size = max(1, int(round(rng.uniform(*foreground_share) * gallery.patches)))
        start = rng.integers(0, gallery.patches - size + 1)
        foreground = np.zeros(gallery.patches, bool)
        foreground[start:start + size] = True
        queries.append(QueryDescriptors(torch.from_numpy(content[index, foreground]),
                                        torch.from_numpy(content[index, ~foreground]),
                                        torch.from_numpy(hsv[index, ~foreground])))
    return queries


def _stub_encoder(gallery: GalleryIndex) -> torch.nn.Module:
    """Queries are given as descriptors: the retriever only checks the gallery's width and encoder identity."""
    encoder = torch.nn.Module()
    encoder.feature_dim, encoder.input_size, encoder.identity = gallery.dim, 448, gallery.meta['encoder']
    return encoder


def exact_top_k(retriever: HarmonizationRetriever, queries: Sequence[QueryDescriptors], k: int = 5,
                chunk_images: int = 1024) -> list[list]:
    """The exact path's answers for many queries in one pass over the store (each chunk converted once)."""
    gallery = retriever.gallery
    names = ('content', 'illumination', 'qualifies')
    columns = [{name: [] for name in names} for _ in queries]
    for start in range(0, len(gallery), chunk_images):
        stop = min(start + chunk_images, len(gallery))
        content = torch.from_numpy(np.asarray(gallery.content[start:stop], dtype=np.float32))
        hsv = torch.from_numpy(np.asarray(gallery.hsv[start:stop], dtype=np.float32))
        for query, column in zip(queries, columns):
            scores = score_gallery(query, content, hsv, retriever.content_threshold,
                                   retriever.illumination_threshold, retriever.illumination_max)
            for name in names:
                column[name].append(getattr(scores, name))
    ids = np.arange(len(gallery))
    return [retriever._ranked(ids, GalleryScores(*(torch.cat(column[name]) for name in names)), k, set())
            for column in columns]


def query_latency(gallery: GalleryIndex, queries: int = 64, k: int = 5, nprobe: int = 16, timed_exact: int = 2,
                  batch: int = 64, device: str = 'cpu', build_seconds: Optional[float] = None) -> dict:
    """Per-query latency of the FAISS path (p50/p95, one query at a time, 1 FAISS thread), its top-k against the
    exact path on every query, the exact path's own latency (on ``timed_exact`` queries) and batched throughput.
    """
    encoder = _stub_encoder(gallery)
    common = dict(grid=gallery.grid, hist_bins=gallery.hist_bins, device=device)
    brute = HarmonizationRetriever(encoder, gallery=gallery.folder, backend='brute', **common)
    fast = HarmonizationRetriever(encoder, gallery=gallery.folder, backend='faiss', nprobe=nprobe, **common)
    descriptors = synthetic_queries(gallery, queries)
    result = dict(images=len(gallery), queries=queries, k=k, nprobe=nprobe,
                  store_gib=gallery.bytes_per_image * len(gallery) / 2 ** 30,
                  faiss_gib=sum(osp.getsize(osp.join(gallery.folder, name))
                                for name in GalleryIndex.FAISS_FILES.values()) / 2 ** 30,
                  faiss=dict(gallery.faiss_meta), faiss_build_seconds=build_seconds,
                  torch_threads=torch.get_num_threads())
    start = time.perf_counter()
    expected = exact_top_k(brute, descriptors, k)
    result['exact_batch_seconds'] = time.perf_counter() - start
    timings = []
    for query in descriptors[:timed_exact]:
        start = time.perf_counter()
        brute.query(None, None, k=k, descriptors=query)
        timings.append(time.perf_counter() - start)
    result['exact_seconds_per_query'] = float(np.mean(timings)) if timings else None
    fast.query_batch(descriptors[:2], k=k)  # loads the index
    latencies, found, verified = [], [], []
    for query in descriptors:
        start = time.perf_counter()
        found.append(fast.query(None, None, k=k, descriptors=query))
        latencies.append(time.perf_counter() - start)
        verified.append(fast.last_stats['verified'][0])
    milliseconds = 1000 * np.array(latencies)
    result.update(p50_ms=float(np.percentile(milliseconds, 50)), p95_ms=float(np.percentile(milliseconds, 95)),
                  max_ms=float(milliseconds.max()), mean_verified=float(np.mean(verified)),
                  max_verified=int(np.max(verified)))
    same = [[(r.path, round(r.score, 6)) for r in a] == [(r.path, round(r.score, 6)) for r in e]
            for a, e in zip(found, expected)]
    result['identical_top_k'] = int(sum(same))
    result['queries_with_results'] = int(sum(bool(e) for e in expected))
    result['mean_results'] = float(np.mean([len(e) for e in expected]))
    hits = sum(len({r.path for r in a} & {r.path for r in e}) for a, e in zip(found, expected))
    result['recall_at_k'] = hits / max(1, sum(len(e) for e in expected))
    start = time.perf_counter()
    for offset in range(0, len(descriptors), batch):
        fast.query_batch(descriptors[offset:offset + batch], k=k)
    result['batched_queries_per_second'] = len(descriptors) / (time.perf_counter() - start)
    return result
