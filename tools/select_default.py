"""Name the default model (and the models kept for comparison only) from dev boards.

    python tools/select_default.py DEV_REAL [DEV_SYNTHETIC ...] [--chroma DIR] [--write]

Each board is scored on a dev set, the real dev set first, and is either a `tools/benchmark.py` leaderboard JSON
(256², the network's own output: `python tools/benchmark.py MODELS --data-root data/real-dev`) or a folder of
`tools/full_res_eval.py MODEL --min-side 0 --out FOLDER/MODEL.json` results (each image at its own size through the
full-resolution path: what `harmony harmonize` gives). Boards of evaluation data (data/samples,
../shared/data/triplets) are refused. --chroma names a folder of `tools/change_calibration.py MODEL
--data-root data/real-dev --out DIR/NAME.json` results: a model that greys objects cannot be the default. The
rule is toolkit/benchmark/selection.py's; --write puts the result into model-index.yml and the metafiles.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), '..')))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('leaderboards', nargs='+',
                        help='dev leaderboard JSONs or folders of native results, the real dev set first')
    parser.add_argument('--chroma', help='a folder of tools/change_calibration.py results on the real dev set')
    parser.add_argument('--write', action='store_true', help='update model-index.yml and the metafiles')
    args = parser.parse_args(argv)

    from toolkit.benchmark.selection import apply_selection, read_board, read_chroma_board, select_default
    from toolkit.zoo import load_index, model_index_path
    try:
        boards = [read_board(path) for path in args.leaderboards]
        chroma = read_chroma_board(args.chroma) if args.chroma else None
    except (OSError, ValueError, KeyError) as error:
        sys.exit(f'error: {error}')
    models = load_index()
    candidates = sorted(name for name, model in models.items()
                        if model.learned and model.weights_status in ('bundled', 'cached'))
    selection = select_default(boards, candidates, chroma)
    names = [os.path.basename(os.path.abspath(path)) if os.path.isdir(path)
             else os.path.basename(os.path.dirname(os.path.abspath(path))) for path in args.leaderboards]
    print('| model | ' + ' | '.join(f'fMSE {name}' for name in names) + ' | '
          + ' | '.join(f'fSSIM {name}' for name in names) + (' | chroma shift' if chroma is not None else '')
          + ' | comparison only |')
    print('|---|' + '---:|' * (2 * len(names) + (chroma is not None)) + '---|')

    def cells(values, pattern):
        return ' | '.join('–' if value is None else pattern.format(value) for value in values)
    if selection.table:
        first = selection.table[0]
        print(f"| input composite | {cells(first['input_fMSE'], '{:.1f}')} | "
              f"{cells(first['input_fSSIM'], '{:.4f}')} |{' |' if chroma is not None else ''} |")
    for row in sorted(selection.table, key=lambda row: float('inf') if row['fMSE'][0] is None else row['fMSE'][0]):
        star = ' *' if row['name'] == selection.default else ''
        shift = '' if chroma is None else f" {cells([row['chroma']], '{:+.1f}')} |"
        print(f"| {row['name']}{star} | {cells(row['fMSE'], '{:.1f}')} | {cells(row['fSSIM'], '{:.4f}')} |{shift} "
              f"{'; '.join(row['reasons'])} |")
    print(f'\ndefault: {selection.default}')
    print(f'comparison only: {", ".join(selection.comparison_only) or "none"}')
    if selection.unscored:
        print(f'on no board (left as the index says): {", ".join(selection.unscored)}')
    if args.write:
        try:
            changed = apply_selection(selection, model_index_path(), candidates,
                                      reason='worse than the input composite on the dev set (tools/select_default.py)')
        except ValueError as error:
            sys.exit(f'error: {error}')
        print(f'wrote the index: default {"changed" if changed["default"] else "unchanged"}; Use changed for '
              f'{", ".join(changed["use"]) or "no model"}')


if __name__ == '__main__':
    main()
