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


def _plot_smoothed(axis, rows: Sequence[dict], key: str, smooth: int) -> None:
    """``key`` of the training rows against their iteration: raw (faint) and a running mean over ``smooth`` points."""
    import numpy as np
    steps = np.array([row['iter'] for row in rows])
    values = np.array([row.get(key, np.nan) for row in rows], dtype=float)
    line, = axis.plot(steps, values, alpha=0.3, linewidth=0.8)
    if len(values) >= smooth:
        running = np.convolve(values, np.ones(smooth) / smooth, mode='valid')
        axis.plot(steps[smooth - 1:], running, color=line.get_color(), label=key)
    else:
        line.set_label(key)


def plot_learning_curves(scalars: str, out: str, title: str = '', metrics: Sequence[str] = ('fMSE', 'PSNR'),
                         smooth: int = 5, losses: Optional[Sequence[str]] = None) -> str:
    """Training losses (raw, and a running mean over ``smooth`` logged points) and validation metrics vs iteration,
    side by side, written to ``out`` (PNG)."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    train, val = read_scalars(scalars)
    if not train:
        raise ValueError(f'{scalars}: no training rows (with a "loss")')
    if losses is None:  # the total, and its terms when there are several
        terms = [key for key in train[0] if key.startswith('loss_')]
        losses = ['loss'] + (terms if len(terms) > 1 else [])
    figure, axes = plt.subplots(1, 1 + len(metrics) if val else 1, figsize=(4.2 * (1 + len(metrics)), 3.2),
                                squeeze=False)
    axes = axes[0]
    for key in losses:
        _plot_smoothed(axes[0], train, key, smooth)
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


def chain_rows(stages: Sequence[dict]) -> tuple[list[dict], list[dict], list[int]]:
    """The rows of a warm-start chain on one iteration axis.

    Each stage is ``dict(scalars=PATH, dev=bool)``: its iterations are offset by the iterations of the stages
    before it (its last logged training iteration), and its validation rows are kept only when ``dev`` says they
    were computed on the dev split (a stage validated on another set would put two measures on one curve).

    Returns ``(training rows, dev rows, stage boundaries)`` with ``iter`` on the chain's axis.

    Example:
        >>> import json, tempfile, os
        >>> folder = tempfile.mkdtemp()
        >>> def write(name, rows):
        ...     path = os.path.join(folder, name)
        ...     with open(path, 'w') as handle:
        ...         handle.write('\\n'.join(json.dumps(row) for row in rows))
        ...     return path
        >>> first = write('a.json', [dict(loss=1.0, iter=50), dict(fMSE=9.0, step=0), dict(loss=0.8, iter=100)])
        >>> second = write('b.json', [dict(loss=0.7, iter=50), dict(fMSE=5.0, step=0)])
        >>> train, dev, bounds = chain_rows([dict(scalars=first, dev=False), dict(scalars=second, dev=True)])
        >>> [row['iter'] for row in train], [(row['iter'], row['fMSE']) for row in dev], bounds
        ([50, 100, 150], [(150, 5.0)], [100])
    """
    train_rows, dev_rows, boundaries, offset = [], [], [], 0
    for index, stage in enumerate(stages):
        train, val = read_scalars(stage['scalars'])
        if not train:
            raise ValueError(f'{stage["scalars"]}: no training rows (with a "loss")')
        train_rows += [dict(row, iter=row['iter'] + offset) for row in train]
        if stage.get('dev'):
            dev_rows += [dict(row, iter=row['iter'] + offset) for row in val]
        offset += train[-1]['iter']
        if index < len(stages) - 1:
            boundaries.append(offset)
    return train_rows, dev_rows, boundaries


def plot_training_chain(stages: Sequence[dict], out: str, title: str = '', metric: str = 'fMSE',
                        points: Sequence[tuple] = (), references: Optional[dict] = None, smooth: int = 5) -> str:
    """A warm-start chain's training loss and dev metric on one iteration axis (PNG at ``out``).

    Args:
        stages: ``dict(scalars=PATH, dev=bool, label=str)`` in training order (see :func:`chain_rows`).
        points: extra dev measurements ``(iteration, value)`` — e.g. a stage's bundled weights scored on the dev
            split by ``tools/benchmark.py`` at the stage's end.
        references: horizontal lines ``{label: value}`` on the metric panel (the input composite's score).
    """
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    train, dev, boundaries = chain_rows(stages)
    figure, axes = plt.subplots(1, 2, figsize=(9.6, 3.4))
    _plot_smoothed(axes[0], train, 'loss', smooth)
    axes[0].set_title('training loss')
    dev_points = sorted([(row['iter'], row[metric]) for row in dev if metric in row] + [tuple(p) for p in points])
    if dev_points:
        axes[1].plot(*zip(*dev_points), marker='o', color='C1', label=f'dev {metric}')
    for label, value in (references or {}).items():
        axes[1].axhline(value, color='grey', linestyle='--', linewidth=1)
        axes[1].annotate(label, (axes[1].get_xlim()[0], value), fontsize=7, va='bottom', color='grey')
    axes[1].set_title(f'dev {metric}')
    for axis in axes:
        axis.set_xlabel('iteration (whole chain)')
        for boundary in boundaries:
            axis.axvline(boundary, color='black', linewidth=0.8, alpha=0.5)
    names = ' | '.join(stage.get('label', f'stage {index + 1}') for index, stage in enumerate(stages))
    figure.suptitle(f'{title}\n{names}' if title else names, fontsize=9)
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)
    return out
