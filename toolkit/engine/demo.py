"""``make demo``: train a tiny UNet on the bundled samples, then run the leaderboard on them.

The leaderboard (``tools/benchmark.py``) compares the input composite, the non-learned
baselines, every zoo model whose weights are already cached (nothing is downloaded), and the
trained UNet, and writes ``leaderboard.{json,csv,md,png}`` to the work dir.
"""
from __future__ import annotations

import os
import os.path as osp

from rich.console import Console

REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SAMPLES_ROOT = osp.join(REPO_ROOT, 'data', 'samples')
DEMO_CONFIG = osp.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-400i_samples-64.py')
#: models without weights, always on the leaderboard
BASELINES = ('copy-paste', 'reinhard-lab', 'histogram-matching')


def cached_zoo_models() -> list[str]:
    """``CONFIG:WEIGHTS`` of every zoo model whose released weights are already in the local cache."""
    from toolkit.hub import HubError, download_weights
    from toolkit.zoo import load_index
    found = []
    for model in load_index().values():
        if model.weights is None:
            continue
        try:
            found.append(f'{model.config}:{download_weights(model.weights, local_files_only=True)}')
        except HubError:
            continue
    return found


def run_demo(work_dir: str, console: Console | None = None, train_config: str = DEMO_CONFIG,
             repeats: int = 5) -> dict:
    """Train, benchmark, write the leaderboard files; returns the leaderboard dict."""
    from toolkit.benchmark import run_benchmark
    from toolkit.engine.launch import train
    console = console or Console(width=None if Console().is_terminal else 150)
    os.makedirs(work_dir, exist_ok=True)
    console.rule('[bold]1/2 train a tiny UNet on data/samples (CPU is fine)')
    runner = train(train_config, work_dir=osp.join(work_dir, 'unet-tiny'),
                   cfg_options={'log_level': 'WARNING'})
    checkpoint = osp.join(runner.work_dir, f'iter_{runner.iter}.pth')

    console.rule('[bold]2/2 leaderboard on data/samples: 256x256, toolkit metric profile')
    models = [*BASELINES, *cached_zoo_models(), f'{train_config}:{checkpoint}']
    result = run_benchmark(models, SAMPLES_ROOT, work_dir, batch_size=2, num_workers=0, warmup=2, repeats=repeats,
                           console=console)
    console.print('[dim]The tiny UNet is trained on these same six images: a demonstration of the pipeline, '
                  'not a benchmark.[/dim]')
    return result
