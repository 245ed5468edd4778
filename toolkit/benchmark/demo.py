"""``make demo``: the zoo's learned models against the non-learned baselines on the bundled real triplets.

Nothing is trained and nothing is downloaded: the leaderboard (``tools/benchmark.py``) scores the input composite,
the baselines (copy-paste, Reinhard in Lab, histogram matching) and every zoo model whose weights are here (bundled
with HarmonyZoo, or already in the Hub cache) on ``data/samples`` at 256×256, writes
``leaderboard.{json,csv,md,png}``, harmonizes the samples at full resolution into a picture sheet
(``sheet.jpg``: input | mask | each model | real) and says which model wins.
"""
from __future__ import annotations

import os
import os.path as osp
from typing import Optional, Sequence

from rich.console import Console

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SAMPLES_ROOT = osp.join(REPO_ROOT, 'data', 'samples')
#: models without weights, always on the leaderboard
BASELINES = ('copy-paste', 'reinhard-lab', 'histogram-matching')


def local_zoo_models() -> list[str]:
    """Names of zoo models with weights available offline (bundled, or cached from the Hub), default first."""
    from toolkit.zoo import default_model_name, load_index
    default = default_model_name(required=False)
    names = [name for name, model in load_index().items() if model.weights_status in ('bundled', 'cached')]
    return sorted(names, key=lambda name: (name != default, name))


def run_demo(work_dir: str, console: Optional[Console] = None, models: Optional[Sequence[str]] = None,
             repeats: int = 5, sheet: bool = True) -> dict:
    """Leaderboard + picture sheet on the bundled samples; returns the leaderboard dict (with a ``verdict``)."""
    from toolkit.benchmark.runner import run_benchmark
    console = console or Console(width=None if Console().is_terminal else 150)
    os.makedirs(work_dir, exist_ok=True)
    learned = list(local_zoo_models() if models is None else models)
    console.rule('[bold]1/2 leaderboard on data/samples (6 real triplets): 256x256, toolkit metric profile')
    result = run_benchmark([*BASELINES, *learned], SAMPLES_ROOT, work_dir, batch_size=2, num_workers=0, warmup=2,
                           repeats=repeats, flops_resolutions=(256,), console=console)
    if sheet:
        console.rule('[bold]2/2 full-resolution results on data/samples')
        from toolkit.apis import Harmonizer
        from toolkit.visualization.sheet import short_labels, write_sheet
        composites, masks, reals = samples_triplets()
        names = [*learned, *BASELINES[1:]]
        harmonizers = {label: Harmonizer.from_pretrained(name) for label, name in zip(short_labels(names), names)}
        path = write_sheet(osp.join(work_dir, 'sheet.jpg'), harmonizers, composites, masks, reals)
        console.print(f'wrote {path}: input | mask | ' + ' | '.join(harmonizers) + ' | real')
    result['verdict'] = verdict(result, learned)
    console.print(f'[bold]{result["verdict"]}')
    return result


def samples_triplets() -> tuple[list, list, list]:
    from toolkit.datasets import IHarmony4Dataset
    dataset = IHarmony4Dataset(SAMPLES_ROOT, split='test')
    infos = [dataset.get_data_info(index) for index in range(len(dataset))]
    return ([info['composite_path'] for info in infos], [info['mask_path'] for info in infos],
            [info['gt_path'] for info in infos])


def verdict(result: dict, learned: Sequence[str]) -> str:
    """One sentence: the best model by pooled fMSE, and how the learned ones compare with the best baseline."""
    rows = {model['name']: model['quality']['subsets']['All'] for model in result['models']}
    best_baseline = min(BASELINES[1:], key=lambda name: rows[name]['fMSE'])
    best = min(rows, key=lambda name: rows[name]['fMSE'])
    if not learned:
        return f'no learned zoo model has weights here; best: {best} (fMSE {rows[best]["fMSE"]:.1f})'
    parts = [f'{name}: fMSE {rows[name]["fMSE"]:.1f}, MSE {rows[name]["MSE"]:.1f}' for name in learned]
    return (f'best: {best}. ' + '; '.join(parts) + f'. Best non-learned baseline {best_baseline}: fMSE '
            f'{rows[best_baseline]["fMSE"]:.1f}, MSE {rows[best_baseline]["MSE"]:.1f}; input composite fMSE '
            f'{result["input"]["subsets"]["All"]["fMSE"]:.1f}.')
