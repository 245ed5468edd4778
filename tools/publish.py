"""Publish a trained model: to the Hugging Face Hub, or bundled with HarmonyZoo when it is small.

    python tools/publish.py CONFIG CHECKPOINT --repo org/name [--results results.json] [--dry-run] [--out DIR]
    python tools/publish.py CONFIG CHECKPOINT --bundle [--name NAME]      # weights/NAME.safetensors (small models)

--bundle stores float16 when that moves no output on the bundled samples by more than half a level (else float32),
refuses to push all bundled weights past the 10 MB budget, and prints the metafile Weights entry (file, sha256, size).

Writes model.safetensors (strictly checked against the config's model), the resolved config and a model
card (metrics table with its metric profile, training data, licence, citation) into DIR (default
work_dirs/publish/<name>), uploads the folder unless --dry-run, and prints the metafile entry to paste
into configs/<method>/metafile.yml (revision = the upload's commit hash).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

import toolkit.publish as publish  # noqa: E402

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))


def bundle(args, name):
    import yaml

    from toolkit.datasets import IHarmony4Dataset, read_image, read_mask
    folder = os.path.join(REPO_ROOT, 'weights')
    samples = IHarmony4Dataset(os.path.join(REPO_ROOT, 'data', 'samples'), split='test')
    pairs = [(read_image(info['composite_path']), read_mask(info['mask_path']))
             for info in (samples.get_data_info(i) for i in range(len(samples)))]
    try:
        export = publish.bundle_weights(args.config, args.checkpoint, name, folder, pairs)
    except publish.BundleBudgetError as error:
        sys.exit(f'error: {error}')
    print(f'wrote {os.path.relpath(export["file"], REPO_ROOT)} ({export["dtype"]}: outputs on the bundled samples move '
          f'by at most {export["max_difference"]:.3f} levels; {export["size"]:,} bytes; all bundled weights '
          f'{export["bundled_total"]:,} of {publish.BUNDLE_BUDGET:,})')
    entry = dict(file=os.path.relpath(export['file'], REPO_ROOT), sha256=export['sha256'], size=export['size'])
    print('\nmetafile Weights entry:\n\n' + yaml.safe_dump({'Weights': entry}, sort_keys=False))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='.pth (MMEngine) or .safetensors')
    parser.add_argument('--repo', help='Hub repo id, org/name')
    parser.add_argument('--bundle', action='store_true', help='write weights/NAME.safetensors instead (small models)')
    parser.add_argument('--name', help='model name in the zoo (default: the config name)')
    parser.add_argument('--results', help='tools/test.py --out report or leaderboard.json for the model card')
    parser.add_argument('--license', default='apache-2.0')
    parser.add_argument('--training-data', default='iHarmony4')
    parser.add_argument('--citation', default="Please cite the method's paper.")
    parser.add_argument('--collection', help='metafile collection (default: the name before the first _)')
    parser.add_argument('--out', help='output folder (default work_dirs/publish/<name>)')
    parser.add_argument('--dry-run', action='store_true', help='write the folder only, do not upload')
    args = parser.parse_args(argv)
    name = args.name or os.path.splitext(os.path.basename(args.config))[0]
    if args.bundle:
        return bundle(args, name)
    if not args.repo:
        parser.error('give --repo org/name (or --bundle for a small model)')
    out = args.out or os.path.join('work_dirs', 'publish', name)
    try:
        export = publish.export_for_hub(args.config, args.checkpoint, out, name=name, results_json=args.results,
                                license=args.license, training_data=args.training_data, citation=args.citation)
    except (FileNotFoundError, RuntimeError, KeyError) as error:
        sys.exit(f'error: {error}')
    revision = None if args.dry_run else publish.upload(out, args.repo)
    print(f'{"wrote" if args.dry_run else "uploaded"} {out} (model.safetensors sha256 {export["sha256"]}, '
          f'{export["size"]} bytes){"" if args.dry_run else f" as {args.repo}@{revision}"}')
    print('\nmetafile entry:\n')
    print(publish.metafile_entry(export, args.config, args.repo, revision, args.collection))


if __name__ == '__main__':
    main()
