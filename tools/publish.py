"""Publish a trained model to the Hugging Face Hub.

    python tools/publish.py CONFIG CHECKPOINT --repo org/name [--results results.json] [--dry-run] [--out DIR]

Writes model.safetensors (strictly checked against the config's model), the resolved config and a model
card (metrics table with its metric profile, training data, licence, citation) into DIR (default
work_dirs/publish/<name>), uploads the folder unless --dry-run, and prints the metafile entry to paste
into configs/<method>/metafile.yml (revision = the upload's commit hash).
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))

from toolkit.publish import export_for_hub, metafile_entry, upload  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint', help='.pth (MMEngine) or .safetensors')
    parser.add_argument('--repo', required=True, help='Hub repo id, org/name')
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
    out = args.out or os.path.join('work_dirs', 'publish', name)
    try:
        export = export_for_hub(args.config, args.checkpoint, out, name=name, results_json=args.results,
                                license=args.license, training_data=args.training_data, citation=args.citation)
    except (FileNotFoundError, RuntimeError, KeyError) as error:
        sys.exit(f'error: {error}')
    revision = None if args.dry_run else upload(out, args.repo)
    print(f'{"wrote" if args.dry_run else "uploaded"} {out} (model.safetensors sha256 {export["sha256"]}, '
          f'{export["size"]} bytes){"" if args.dry_run else f" as {args.repo}@{revision}"}')
    print('\nmetafile entry:\n')
    print(metafile_entry(export, args.config, args.repo, revision, args.collection))


if __name__ == '__main__':
    main()
