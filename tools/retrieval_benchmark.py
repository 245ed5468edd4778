"""Retrieval performance on this machine: encoder throughput, query latency vs gallery size, exact vs FAISS.

    python tools/retrieval_benchmark.py [--sizes 1000 10000 100000] [--work-dir work_dirs/retrieval-bench]

Synthetic galleries (ViT-B width 768, 8x8 cells, 128 HSV bins, float16) are written under --work-dir and
re-used on later runs (100k images take 10.7 GiB of disk). Prints one JSON line per measurement and a table.
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main():
    parser = argparse.ArgumentParser(description='Benchmark harmonization-oriented retrieval')
    parser.add_argument('--sizes', type=int, nargs='+', default=[1000, 10000, 100000])
    parser.add_argument('--queries', type=int, default=5)
    parser.add_argument('--nprobe', type=int, default=32)
    parser.add_argument('--work-dir', default='work_dirs/retrieval-bench')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--skip-encoder', action='store_true', help='skip the ViT-B/14 throughput measurement')
    parser.add_argument('--out', help='write all results as JSON')
    args = parser.parse_args()

    from toolkit.benchmark.retrieval import encoder_throughput, query_latency, synthetic_gallery
    results = dict(galleries=[])
    if not args.skip_encoder:
        results['encoder'] = encoder_throughput(device=args.device)
        print(json.dumps(dict(encoder=results['encoder'])), flush=True)
    for size in args.sizes:
        gallery = synthetic_gallery(os.path.join(args.work_dir, f'synthetic-{size}'), size)
        row = query_latency(gallery, queries=args.queries, nprobe=args.nprobe, device=args.device)
        results['galleries'].append(row)
        print(json.dumps(row), flush=True)
    print('\n| images | MiB (store) | MiB (FAISS) | exact s/query | FAISS s/query | FAISS recall@5 | results/query |')
    print('|---:|---:|---:|---:|---:|---:|---:|')
    for row in results['galleries']:
        print(f"| {row['images']:,} | {row['gallery_mib']:.0f} | {row['faiss_index_mib']:.0f} | "
              f"{row['brute_seconds_per_query']:.3f} | {row['faiss_seconds_per_query']:.3f} | "
              f"{row['faiss_recall_at_k']:.2f} | {row['mean_results']:.1f} |")
    if args.out:
        with open(args.out, 'w', encoding='utf-8') as handle:
            json.dump(results, handle, indent=1)


if __name__ == '__main__':
    main()
