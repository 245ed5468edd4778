"""Learning curves of a training run from MMEngine's ``vis_data/scalars.json``."""
from __future__ import annotations

import json
from typing import Optional, Sequence


def read_scalars(path: str) -> tuple[list[dict], list[dict]]:
    """``(training rows, validation rows)``. Validation rows carry no iteration of their own in an iteration-based
    run (MMEngine logs them at step 0): each gets the iteration of the training row logged before it."""
    train, val = [], []
    with open(path, encoding='utf-8') as handle:
        for line in handle:
            if not line.strip():
                continue
            row = json.loads(line)
            if 'loss' in row:
                train.append(row)
            else:
                row = dict(row, iter=train[-1]['iter'] if train else row.get('step', 0))
                val.append(row)
    return train, val


def plot_learning_curves(scalars: str, out: str, title: str = '', metrics: Sequence[str] = ('fMSE', 'PSNR'),
                         smooth: int = 5, losses: Optional[Sequence[str]] = None) -> str:
    """Training losses (raw, and a running mean over ``smooth`` logged points) and validation metrics vs iteration,
    side by side, written to ``out`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    import numpy as np
    train, val = read_scalars(scalars)
    if not train:
        raise ValueError(f'{scalars}: no training rows (with a "loss")')
    if losses is None:  # the total, and its terms when there are several
        terms = [key for key in train[0] if key.startswith('loss_')]
        losses = ['loss'] + (terms if len(terms) > 1 else [])
    figure, axes = plt.subplots(1, 1 + len(metrics) if val else 1, figsize=(4.2 * (1 + len(metrics)), 3.2),
                                squeeze=False)
    axes = axes[0]
    steps = np.array([row['iter'] for row in train])
    for key in losses:
        values = np.array([row.get(key, np.nan) for row in train], dtype=float)
        line, = axes[0].plot(steps, values, alpha=0.3, linewidth=0.8)
        if len(values) >= smooth:
            running = np.convolve(values, np.ones(smooth) / smooth, mode='valid')
            axes[0].plot(steps[smooth - 1:], running, color=line.get_color(), label=key)
        else:
            line.set_label(key)
    axes[0].set_xlabel('iteration')
    axes[0].set_title('training loss')
    axes[0].legend(fontsize=8)
    for axis, metric in zip(axes[1:], metrics):
        points = [(row['iter'], row[metric]) for row in val if metric in row]
        if points:
            axis.plot(*zip(*points), marker='o')
        axis.set_xlabel('iteration')
        axis.set_title(f'validation {metric}')
    if title:
        figure.suptitle(title, fontsize=10)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
