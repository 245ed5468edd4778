"""The retrieval benchmark helpers measure what they say on a small synthetic gallery."""
from toolkit.benchmark.retrieval import query_latency, synthetic_gallery


def test_synthetic_gallery_and_latency_with_exhaustive_faiss_recall(tmp_path):
    gallery = synthetic_gallery(str(tmp_path / 'g'), 120, grid=2, dim=16, bins=(4, 2, 1), centres=8, chunk=50)
    assert len(gallery) == 120 and gallery.bytes_per_image == 4 * (16 + 8) * 2
    assert synthetic_gallery(str(tmp_path / 'g'), 120, grid=2, dim=16).folder == gallery.folder   # re-used
    row = query_latency(gallery, queries=3, nprobe=4, nlist=4)   # nprobe = nlist: FAISS candidates are exact
    assert row['images'] == 120 and row['faiss_recall_at_k'] == 1.0 and row['mean_results'] > 0
    assert row['brute_seconds_per_query'] > 0 and row['faiss_seconds_per_query'] > 0
