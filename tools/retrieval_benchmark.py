"""Retrieval performance on this machine: query latency (p50/p95) and top-k agreement with the exact path vs gallery
size, index build time and memory, batched throughput, and the content encoder's throughput.

    python tools/retrieval_benchmark.py [--sizes 1000 10000 65742] [--queries 64] [--work-dir work_dirs/retrieval-bench]

Galleries are synthetic scenes (toolkit.benchmark.retrieval.SceneModel: ViT-B width 768, 8x8 cells, 128 HSV bins,
float16 store) written under --work-dir and re-used on later runs (65,742 images take 7.0 GiB of disk); the FAISS
index is built (and timed) when missing. Queries are new synthetic composites; each FAISS answer is compared with
the exact path's. Timings are one query at a time, FAISS on 1 thread. Prints one JSON line per size and a table.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main():
    parser = argparse.ArgumentParser(description='Benchmark harmonization-oriented retrieval')
    parser.add_argument('--sizes', type=int, nargs='+', default=[1000, 10000, 65742])
    parser.add_argument('--queries', type=int, default=64, help='synthetic composites per gallery size')
    parser.add_argument('--nprobe', type=int, default=16)
    parser.add_argument('--timed-exact', type=int, default=2, help='queries timed on the exact path')
    parser.add_argument('--work-dir', default='work_dirs/retrieval-bench')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--torch-threads', type=int, help='torch threads (default: torch\'s own choice)')
    parser.add_argument('--encoder', action='store_true', help='also measure the ViT-B/14 encoder (images/s)')
    parser.add_argument('--out', help='write all results as JSON')
    args = parser.parse_args()

    import torch

    from toolkit.benchmark.retrieval import encoder_throughput, query_latency, synthetic_gallery
    if args.torch_threads:
        torch.set_num_threads(args.torch_threads)
    results = dict(galleries=[], command=' '.join(sys.argv))
    if args.encoder:
        results['encoder'] = encoder_throughput(device=args.device)
        print(json.dumps(dict(encoder=results['encoder'])), flush=True)
    for size in args.sizes:
        gallery = synthetic_gallery(os.path.join(args.work_dir, f'synthetic-{size}'), size, progress=True)
        build_seconds = None
        if not gallery.has_faiss:
            start = time.perf_counter()
            gallery.build_faiss(progress=True)
            build_seconds = time.perf_counter() - start
        row = query_latency(gallery, queries=args.queries, nprobe=args.nprobe, timed_exact=args.timed_exact,
                            device=args.device, build_seconds=build_seconds)
        results['galleries'].append(row)
        print(json.dumps(row), flush=True)
    print('\n| images | store GiB | index GiB | exact s/query | FAISS p50 ms | p95 ms | top-5 = exact | '
          'recall@5 | verified/query | refs/query | batched q/s |')
    print('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|')
    for row in results['galleries']:
        exact = row['exact_seconds_per_query']
        print(f"| {row['images']:,} | {row['store_gib']:.2f} | {row['faiss_gib']:.2f} | "
              f"{'—' if exact is None else f'{exact:.2f}'} | {row['p50_ms']:.1f} | {row['p95_ms']:.1f} | "
              f"{row['identical_top_k']}/{row['queries']} | {row['recall_at_k']:.3f} | {row['mean_verified']:.0f} | "
              f"{row['mean_results']:.2f} | {row['batched_queries_per_second']:.1f} |")
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(results, handle, indent=1)


if __name__ == '__main__':
    main()
