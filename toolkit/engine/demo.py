"""``make demo``: on the bundled samples, evaluate the non-learned baselines and a tiny UNet trained here.

Writes ``results.md`` (a comparison table and per-model tables), one ``<model>.json`` report per
model, and ``composite | prediction | target`` grids under ``<work_dir>/<model>/``.
"""
from __future__ import annotations

import json
import os
import os.path as osp

from rich.console import Console
from rich.table import Table

from toolkit.utils.report import METRIC_COLUMNS, report_markdown

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SAMPLES_ROOT = osp.join(REPO_ROOT, 'data', 'samples')
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-400i_samples-64.py')
#: models without weights, evaluated as they are (name → config)
BASELINE_CONFIGS = {
    name: osp.join(REPO_ROOT, 'configs', 'baselines', f'{name}_iharmony4-256.py')
    for name in ('copy-paste', 'reinhard-lab', 'histogram-matching')
}

#: evaluate at the field's protocol (straight resize to 256, toolkit profile) whatever the training size
EVAL_AT_256 = {
    'test_dataloader.dataset.data_root': SAMPLES_ROOT,
    'test_dataloader.dataset.pipeline': [
        dict(type='LoadHarmonizationImages'),
        dict(type='Resize', scale=256),
        dict(type='BinarizeMask', threshold=0.5),
        dict(type='PackHarmonizationInputs'),
    ],
    'test_dataloader.num_workers': 0,
    'test_dataloader.persistent_workers': False,
    'test_evaluator.profile': 'toolkit',
    'log_level': 'WARNING',  # the summary table below says it all
}


def _fmt(value, fmt):
    return '–' if value != value else fmt.format(value)  # NaN-safe


def summary_table(reports: dict) -> Table:
    """One row per model (pooled over all images), the input composite first."""
    table = Table(title='bundled samples, all images pooled (toolkit profile, 256x256)', title_justify='left')
    for column in ('model', 'N', *(name for name, _ in METRIC_COLUMNS)):
        table.add_column(column, justify='left' if column == 'model' else 'right')
    first = next(iter(reports.values()))
    rows = [('input composite', first['input']['subsets']['All'])]
    rows += [(name, report['model']['subsets']['All']) for name, report in reports.items()]
    for name, row in rows:
        table.add_row(name, str(row['N']), *(_fmt(row[metric], fmt) for metric, fmt in METRIC_COLUMNS))
    return table


def summary_markdown(reports: dict) -> str:
    first = next(iter(reports.values()))
    lines = ['| model | N | ' + ' | '.join(name for name, _ in METRIC_COLUMNS) + ' |',
             '|---|---:|' + '---:|' * len(METRIC_COLUMNS)]
    rows = [('input composite', first['input']['subsets']['All'])]
    rows += [(name, report['model']['subsets']['All']) for name, report in reports.items()]
    for name, row in rows:
        lines.append(f'| {name} | {row["N"]} | ' + ' | '.join(_fmt(row[m], f) for m, f in METRIC_COLUMNS) + ' |')
    return '\n'.join(lines) + '\n'


def run_demo(work_dir: str, console: Console | None = None, train_config: str = DEMO_CONFIG) -> dict:
    """Evaluate every model, print the comparison, write the reports; returns ``{model: report}``."""
    from toolkit.engine.launch import test, train
    console = console or Console()
    os.makedirs(work_dir, exist_ok=True)
    console.rule('[bold]1/2 train a tiny UNet for 400 iterations on data/samples (about 20 s on a CPU)')
    runner = train(train_config, work_dir=osp.join(work_dir, 'unet-tiny-400it', 'train'))
    checkpoint = osp.join(runner.work_dir, f'iter_{runner.iter}.pth')

    console.rule('[bold]2/2 evaluate every model at 256x256 with the toolkit metric profile')
    entries = [(name, config, None) for name, config in BASELINE_CONFIGS.items()]
    entries.append(('unet-tiny-400it', train_config, checkpoint))
    reports = {}
    for name, config, weights in entries:
        out = osp.join(work_dir, f'{name}.json')
        test(config, weights, work_dir=osp.join(work_dir, name, 'test'), out=out, cfg_options=dict(EVAL_AT_256))
        with open(out, encoding='utf-8') as handle:
            reports[name] = json.load(handle)

    console.print(summary_table(reports))
    console.print('[dim]The tiny UNet is trained on these same six images: a demonstration of the pipeline, '
                  'not a benchmark.[/dim]')
    with open(osp.join(work_dir, 'results.md'), 'w', encoding='utf-8') as handle:
        handle.write('# HarmonyZoo demo: bundled samples\n\n' + summary_markdown(reports) + '\n')
        for name, report in reports.items():
            handle.write(f'## {name}\n\n' + report_markdown(report, name) + '\n')
    console.print(f'wrote {osp.join(work_dir, "results.md")} and one JSON report per model in {work_dir}')
    return reports
