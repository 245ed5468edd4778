"""The retrieval benchmark helpers measure what they say on a small synthetic gallery."""
import numpy as np

from toolkit.benchmark.retrieval import _stub_encoder, exact_top_k, query_latency, synthetic_gallery, synthetic_queries
from toolkit.retrieval import HarmonizationRetriever


def test_synthetic_gallery_exact_batch_and_latency_row(tmp_path):
    gallery = synthetic_gallery(str(tmp_path / 'g'), 400, grid=4, dim=64, bins=(4, 4, 2), chunk=150)
    assert len(gallery) == 400 and gallery.bytes_per_image == 16 * (64 + 32) * 2
    assert synthetic_gallery(str(tmp_path / 'g'), 400, grid=4, dim=64, bins=(4, 4, 2)).folder == gallery.folder
    # the one-pass batched exact answers are the exact path's, query by query
    brute = HarmonizationRetriever(_stub_encoder(gallery), gallery=gallery.folder, grid=4, hist_bins=(4, 4, 2),
                                   backend='brute')
    queries = synthetic_queries(gallery, 12)
    batched = exact_top_k(brute, queries, k=5, chunk_images=97)
    one_by_one = [brute.query(None, None, k=5, descriptors=query) for query in queries]
    assert [[(r.path, r.score) for r in a] for a in batched] == [[(r.path, r.score) for r in a] for a in one_by_one]
    assert sum(len(r) for r in one_by_one) > 0
    gallery.build_faiss()
    row = query_latency(gallery, queries=12, timed_exact=1, batch=5)
    assert row['images'] == 400 and row['identical_top_k'] == 12 and row['recall_at_k'] == 1.0
    assert row['p95_ms'] >= row['p50_ms'] > 0 and row['exact_seconds_per_query'] > 0
    assert row['faiss_gib'] > 0 and row['batched_queries_per_second'] > 0
    assert np.isclose(row['mean_results'], np.mean([len(r) for r in one_by_one]))
