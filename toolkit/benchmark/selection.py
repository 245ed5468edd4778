"""Choosing the default model from dev leaderboards — never from the evaluation data — and marking the models
that are only kept for comparison.

The rule (docs/zoo.md, "Selection rules"):

* the boards are what the user gets: ``tools/full_res_eval.py`` results at each image's own size through the
  full-resolution path (``harmony harmonize``'s default; :func:`read_native_board`), the real dev set first; 256²
  leaderboards of the network's own output (the field's protocol, :func:`read_leaderboard`) are reported beside
  them and can be given as boards too;
* a board's score of a model is its fMSE **averaged over the board's subsets** (each subset counts
  once, whatever its size: the real dev set holds 133 Hday2night composites of 24 scenes beside 11 HAdobe5k and
  20 HFlickr ones, and a pooled mean would let one kind of composite decide); a leaderboard without subsets
  uses its pooled row;
* candidates are the zoo's learned models whose weights run offline (bundled or cached);
* a candidate is **comparison only** when its score on any dev leaderboard is worse than the input composite's
  (it makes composites worse on average), or when its foreground SSIM there (averaged the same way) is more than
  :data:`TEXTURE_TOLERANCE` below the input's (it damages the foreground's texture, whatever its colour error);
* with chroma measurements (``tools/change_calibration.py MODEL --data-root data/real-dev --out DIR/NAME.json``,
  :func:`read_chroma_board`), a candidate whose foreground is greyer than the real objects' by more than
  :data:`~toolkit.benchmark.calibration.GREYER_BY` CIELAB chroma units (the real dev set's mean over subsets) may not
  be the default: fMSE does not see an object drained of its colour, and the pictures show it first (fixed before
  the sixth selection's candidates were scored, docs/zoo.md); such a model is not comparison only for it, and one
  without a measurement cannot be the default either;
* the **default** is the candidate, not comparison only and not ruled out by chroma, with the lowest score on the
  real dev set (the first leaderboard given), ties broken by the next leaderboards' scores;
* ``tools/select_default.py --write`` puts the result into the index (``Default Model:`` in model-index.yml,
  ``Use: comparison only`` in the metafiles): the index is updated from this output, not by hand.

Evaluation data (``data/samples``, ``../shared/data/triplets``) is refused as a dev leaderboard.
"""
from __future__ import annotations

import json
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Sequence

#: datasets that are evaluation data: scored once, at the end, never used to choose
EVALUATION_DATA_MARKERS = ('data/samples', 'shared/data/triplets')
#: the ``Use`` value of a model kept for comparison only
COMPARISON_ONLY = 'comparison only'
#: how far a model's foreground SSIM may fall below the input composite's (texture damage) before it is comparison only
TEXTURE_TOLERANCE = 0.02


@dataclass
class Selection:
    default: Optional[str]
    comparison_only: list = field(default_factory=list)
    table: list = field(default_factory=list)  # per candidate: name, fMSE/MSE/fSSIM per leaderboard, input's, why
    unscored: list = field(default_factory=list)  # candidates on no board: the selection says nothing about them


def is_evaluation_data(root: str) -> bool:
    """Whether a dataset path is one of the evaluation sets (:data:`EVALUATION_DATA_MARKERS`)."""
    return any(marker in str(root).replace('\\', '/') for marker in EVALUATION_DATA_MARKERS)


def _refuse_evaluation_data(path: str, root: Optional[str]) -> None:
    if not root:
        raise ValueError(f'{path}: does not say which data it was scored on; cannot tell a dev set from evaluation '
                         'data (score it again with the current tools)')
    if is_evaluation_data(root):
        raise ValueError(f'{path}: scored on {root}, which is evaluation data; choose on a dev set only')


def read_leaderboard(path: str) -> dict:
    """A ``tools/benchmark.py`` leaderboard JSON, refused when it was scored on evaluation data (or does not say
    what it was scored on)."""
    with open(path, encoding='utf-8') as handle:
        board = json.load(handle)
    _refuse_evaluation_data(path, (board.get('dataset') or {}).get('data_root'))
    return board


#: the output of ``tools/full_res_eval.py`` that ``harmony harmonize`` gives (its default path)
HARMONIZE_OUTPUT = 'full-resolution transfer'


def _subset_means(per_image: Sequence[dict], output: str) -> dict:
    """The per-subset and ``All`` rows (:func:`~toolkit.metrics.summarize`, as every leaderboard's) of one output of
    full_res_eval's per-image rows; the subset is the name's first folder."""
    from toolkit.metrics import summarize
    return summarize([dict(row[output], subset=row['name'].split('/')[0]) for row in per_image])['subsets']


def _tool_results(folder: str, tool: str):
    """``(path, result)`` of each ``tool --out`` JSON in ``folder`` (per-image results naming their model), sorted by
    file name; results of evaluation data, or that do not say their data, are refused."""
    paths = sorted(osp.join(folder, name) for name in os.listdir(folder) if name.endswith('.json'))
    if not paths:
        raise ValueError(f'{folder}: no {tool} results (*.json) in it')
    for path in paths:
        with open(path, encoding='utf-8') as handle:
            result = json.load(handle)
        if 'per_image' not in result or 'model' not in result:
            raise ValueError(f'{path}: not a {tool} --out result')
        _refuse_evaluation_data(path, result.get('data_root'))
        yield path, result


def read_native_board(folder: str) -> dict:
    """A folder of ``tools/full_res_eval.py --out`` JSONs (one per model, same dev set, ``--min-side 0``) as a
    leaderboard of what ``harmony harmonize`` gives: each image at its own size through the full-resolution path.

    Raises:
        ValueError: no results, evaluation data, files scored on different data or images, resized (--size) or
            the path's floor (--oracle).
    """
    models, roots, images, first = [], set(), None, None
    board = None
    for path, result in _tool_results(folder, 'tools/full_res_eval.py'):
        if result.get('size'):
            raise ValueError(f'{path}: scored at {result["size"]}x{result["size"]} (--size), not at each image\'s own '
                             'size; a native board takes native results only')
        if result.get('oracle'):
            raise ValueError(f'{path}: the path\'s floor (--oracle: the real image carried), not a model\'s output; a '
                             'board compares models')
        roots.add(result['data_root'])
        names = [row['name'] for row in result['per_image']]
        if images is None:
            images, first = names, path
            board = dict(dataset=dict(data_root=result['data_root'], resolution='native', output=HARMONIZE_OUTPUT,
                                      num_images=len(names)),
                         input=dict(subsets=_subset_means(result['per_image'], 'input composite')), models=[])
        elif names != images:
            raise ValueError(f'{path}: scored on other images than {first}; a board compares models on the same '
                             'images')
        models.append(dict(name=result['model'], quality=dict(subsets=_subset_means(result['per_image'],
                                                                                     HARMONIZE_OUTPUT))))
    if len(roots) > 1:
        raise ValueError(f'{folder}: results from different datasets: {sorted(roots)}')
    board['models'] = models
    return board


def read_board(path: str) -> dict:
    """A leaderboard JSON (:func:`read_leaderboard`) or a folder of native results (:func:`read_native_board`)."""
    return read_native_board(path) if osp.isdir(path) else read_leaderboard(path)


def mean_over_subsets(rows: Sequence[dict], value: Callable[[dict], Optional[float]]) -> float:
    """The rule's average of a per-image value: the mean per subset (``row['subset']``, else the name's first
    folder), then the mean of those, each subset counting once; missing or NaN values (no foreground) are left out.

    Example:
        >>> rows = [dict(name='A/1.jpg', v=1.0), dict(name='A/2.jpg', v=3.0), dict(name='B/1.jpg', v=10.0)]
        >>> mean_over_subsets(rows, lambda row: row['v'])  # (2 + 10) / 2, not the pooled 14 / 3
        6.0

    Raises:
        ValueError: no value at all.
    """
    by_subset: dict[str, list] = {}
    for row in rows:
        number = value(row)
        if number is not None and number == number:
            by_subset.setdefault(row.get('subset') or row['name'].split('/')[0], []).append(number)
    if not by_subset:
        raise ValueError('no values to average')
    return sum(sum(values) / len(values) for values in by_subset.values()) / len(by_subset)


def read_chroma_board(folder: str) -> dict[str, float]:
    """A folder of ``tools/change_calibration.py --out`` JSONs (one per model, on the real dev set) as
    ``{model: mean foreground chroma shift against the real objects}``, the mean over subsets of the per-image
    ``chroma_shift`` (negative: greyer than the real objects).

    Raises:
        ValueError: no results, evaluation data, results on different data, or one model twice.
    """
    shifts, roots = {}, set()
    for path, result in _tool_results(folder, 'tools/change_calibration.py'):
        roots.add(osp.normpath(result['data_root']))
        if result['model'] in shifts:
            raise ValueError(f'{path}: a second chroma result for {result["model"]}')
        try:
            shifts[result['model']] = mean_over_subsets(result['per_image'], lambda row: row.get('chroma_shift'))
        except ValueError:
            raise ValueError(f'{path}: no chroma_shift values') from None
    if len(roots) > 1:
        raise ValueError(f'{folder}: chroma results from different datasets: {sorted(roots)}')
    return shifts


def _score(board: dict, name: Optional[str]) -> Optional[dict]:
    """``{fMSE, MSE[, fSSIM]}`` of a model (``None``: the input composite) on a leaderboard: the mean over its
    subsets (fSSIM when every subset row has it)."""
    if name is None:
        subsets = board['input']['subsets']
    else:
        subsets = next((model['quality']['subsets'] for model in board['models'] if model['name'] == name), None)
        if subsets is None:
            return None
    rows = [row for key, row in subsets.items() if key != 'All'] or [subsets['All']]
    metrics = ('fMSE', 'MSE') + (('fSSIM',) if all(row.get('fSSIM') is not None for row in rows) else ())
    return {metric: sum(row[metric] for row in rows) / len(rows) for metric in metrics}


def select_default(boards: Sequence[dict], candidates: Sequence[str],
                   chroma: Optional[Mapping[str, float]] = None) -> Selection:
    """Apply the module's rule to dev leaderboards (the real dev set first) and candidate model names; ``chroma``
    (:func:`read_chroma_board`), when given, rules out of the default the candidates that grey objects.

    Example:
        >>> board = dict(input=dict(subsets=dict(All=dict(fMSE=100.0, MSE=50.0))), models=[
        ...     dict(name='a', quality=dict(subsets=dict(All=dict(fMSE=80.0, MSE=40.0)))),
        ...     dict(name='b', quality=dict(subsets=dict(All=dict(fMSE=120.0, MSE=45.0))))])
        >>> selection = select_default([board], ['a', 'b'])
        >>> selection.default, selection.comparison_only
        ('a', ['b'])
        >>> select_default([board], ['a', 'b'], chroma={'a': -7.5}).default is None  # 'a' greys objects
        True
    """
    from .calibration import GREYER_BY
    if not boards:
        raise ValueError('give at least one dev leaderboard')
    table, comparison_only, eligible, unscored = [], [], [], []
    for name in candidates:
        rows = [_score(board, name) for board in boards]
        if all(row is None for row in rows):
            unscored.append(name)  # on no board: neither chosen nor marked
            continue
        inputs = [_score(board, None) for board in boards]
        pairs = [(row, base) for row, base in zip(rows, inputs) if row is not None]
        reasons = []
        if any(row['fMSE'] > base['fMSE'] for row, base in pairs):
            reasons.append('fMSE worse than the input')
        if any('fSSIM' in row and 'fSSIM' in base and row['fSSIM'] < base['fSSIM'] - TEXTURE_TOLERANCE
               for row, base in pairs):
            reasons.append(f'fSSIM more than {TEXTURE_TOLERANCE} below the input')
        worse = bool(reasons)
        shift = None if chroma is None else chroma.get(name)
        greys = chroma is not None and (shift is None or shift < -GREYER_BY)
        table.append(dict(name=name, chroma=shift, fMSE=[None if row is None else row['fMSE'] for row in rows],
                          MSE=[None if row is None else row['MSE'] for row in rows],
                          fSSIM=[None if row is None else row.get('fSSIM') for row in rows],
                          input_fMSE=[base['fMSE'] for base in inputs],
                          input_fSSIM=[base.get('fSSIM') for base in inputs],
                          comparison_only=worse, reasons=reasons))
        if worse:
            comparison_only.append(name)
        elif rows[0] is None:
            table[-1]['reasons'] = ['not on the first (real dev) board: cannot be the default']
        elif greys:
            table[-1]['reasons'] = ['no chroma measurement: cannot be the default' if shift is None else
                                    f'greys objects (chroma {shift:+.1f} against the real ones, below '
                                    f'-{GREYER_BY:g}): cannot be the default']
        else:
            eligible.append((tuple(row['fMSE'] if row else float('inf') for row in rows)
                             + tuple(row['MSE'] if row else float('inf') for row in rows), name))
    default = min(eligible)[1] if eligible else None
    return Selection(default=default, comparison_only=sorted(comparison_only), table=table, unscored=unscored)


def write_default(index_path: str, default: str) -> bool:
    """Set ``Default Model:`` in a model index file (its comments kept); returns whether it changed."""
    text = open(index_path, encoding='utf-8').read()
    updated, count = re.subn(r'^Default Model:.*$', f'Default Model: {default}', text, flags=re.MULTILINE)
    if count != 1:
        raise ValueError(f'{index_path}: expected one "Default Model:" line, found {count}')
    if updated != text:
        with open(index_path, 'w', encoding='utf-8') as handle:
            handle.write(updated)
    return updated != text


def write_use(metafile: str, uses: Mapping[str, Optional[str]], reason: str = '') -> list[str]:
    """Set (value) or remove (``None``) the ``Use`` metadata of the named models in one metafile, keeping every
    other line; returns the names whose entry changed.

    Example:
        >>> import tempfile
        >>> path = tempfile.mktemp(suffix='.yml')
        >>> _ = open(path, 'w').write('Models:\\n  - Name: m\\n    Config: c.py\\n    Weights: null\\n')
        >>> write_use(path, {'m': 'comparison only'}, 'worse than the input on the dev set')
        ['m']
        >>> print(open(path).read().splitlines()[3:5])
        ['    Metadata:', '      Use: comparison only  # worse than the input on the dev set']
    """
    lines = open(metafile, encoding='utf-8').read().split('\n')
    changed = []
    index = 0
    while index < len(lines):
        match = re.match(r'^  - Name: (\S+)\s*$', lines[index])
        if not match or match[1] not in uses:
            index += 1
            continue
        name, start = match[1], index
        end = start + 1
        while end < len(lines) and not re.match(r'^  - Name: ', lines[end]) and not re.match(r'^\S', lines[end]):
            end += 1
        block = lines[start:end]
        wanted = uses[name]
        use_line = None if wanted is None else f'      Use: {wanted}' + (f'  # {reason}' if reason else '')
        use_at = next((i for i, line in enumerate(block) if re.match(r'^      Use:', line)), None)
        metadata_at = next((i for i, line in enumerate(block) if re.match(r'^    Metadata:\s*$', line)), None)
        new_block = list(block)
        if use_at is not None and use_line is None:
            del new_block[use_at]
            if metadata_at is not None and (metadata_at + 1 >= len(new_block)
                                            or not new_block[metadata_at + 1].startswith('      ')):
                del new_block[metadata_at]  # an empty Metadata block
        elif use_at is not None:
            if new_block[use_at] != use_line:  # another value, or another reason
                new_block[use_at] = use_line
        elif use_line is not None:
            if metadata_at is None:
                config_at = next(i for i, line in enumerate(new_block) if line.startswith('    Config:'))
                new_block[config_at + 1:config_at + 1] = ['    Metadata:', use_line]
            else:
                new_block.insert(metadata_at + 1, use_line)
        if new_block != block:
            changed.append(name)
            lines[start:end] = new_block
            end = start + len(new_block)
        index = end
    if changed:
        with open(metafile, 'w', encoding='utf-8') as handle:
            handle.write('\n'.join(lines))
    return changed


def apply_selection(selection: Selection, index_path: str, candidates: Sequence[str], reason: str) -> dict:
    """Write a selection into the index: the default, and ``Use: comparison only`` exactly on the candidates the
    rule marks (removed from candidates it no longer marks). Returns what changed."""
    import yaml
    if selection.default is None:
        raise ValueError('no candidate is better than the input on the dev leaderboards: no default to write')
    changed = dict(default=write_default(index_path, selection.default), use=[])
    index = yaml.safe_load(open(index_path, encoding='utf-8'))
    root = osp.dirname(osp.abspath(index_path))
    uses = {name: (COMPARISON_ONLY if name in selection.comparison_only else None) for name in candidates
            if name not in selection.unscored}  # a model no board scored keeps what the index says
    for item in index.get('Import', []):
        changed['use'] += write_use(osp.join(root, item), uses, reason)
    return changed
