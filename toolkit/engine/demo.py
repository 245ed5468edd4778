"""``make demo``: train the tiny UNet on the bundled samples, evaluate it at 256x256, write the tables."""
from __future__ import annotations

import json
import os
import os.path as osp

from rich.console import Console

from toolkit.utils.report import print_report, report_markdown

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-400i_samples-64.py')

#: evaluate at the field's protocol (straight resize to 256, toolkit profile) whatever the training size
EVAL_AT_256 = {
    'test_dataloader.dataset.pipeline': [
        dict(type='LoadHarmonizationImages'),
        dict(type='Resize', scale=256),
        dict(type='BinarizeMask', threshold=0.5),
        dict(type='PackHarmonizationInputs'),
    ],
    'test_evaluator.profile': 'toolkit',
}


def run_demo(work_dir: str, config: str = DEMO_CONFIG, console: Console | None = None) -> dict:
    """Train, evaluate and write ``results.json`` and ``results.md`` under ``work_dir``; returns the report."""
    from toolkit.engine.launch import test, train
    console = console or Console()
    os.makedirs(work_dir, exist_ok=True)
    train_dir = osp.join(work_dir, 'train')
    console.rule('[bold]1/2 train the tiny UNet for 400 iterations on data/samples (CPU is fine)')
    runner = train(config, work_dir=train_dir)
    checkpoint = osp.join(train_dir, f'iter_{runner.iter}.pth')

    console.rule('[bold]2/2 evaluate at 256x256 with the toolkit metric profile')
    results_json = osp.join(work_dir, 'results.json')
    test(config, checkpoint, work_dir=osp.join(work_dir, 'test'), out=results_json, cfg_options=dict(EVAL_AT_256))
    with open(results_json, encoding='utf-8') as handle:
        report = json.load(handle)
    title = 'unet-tiny, 400 iterations on these same 6 images (a demonstration, not a benchmark)'
    print_report(report, console, model_title=title)
    with open(osp.join(work_dir, 'results.md'), 'w', encoding='utf-8') as handle:
        handle.write('# HarmonyZoo demo: bundled samples\n\n' + report_markdown(report, title))
    console.print(f'results: {results_json}, {osp.join(work_dir, "results.md")}; '
                  f'composite | prediction | target grids under {osp.join(work_dir, "test")}/*/vis_data')
    return report
