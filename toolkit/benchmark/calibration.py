"""Does a model move a composite as far as it is off? (``tools/change_calibration.py``)

A harmonizer must leave a composite that already fits alone and move one that is far off a long way. Pooled
errors mix the two; this reads them apart, per image, from three foreground sums (``w`` the soft mask, ``c`` the
composite, ``y`` the model's output, ``r`` the real image, on 0–255; ``d = y − c`` the change the model makes,
``e = r − c`` the change the real image needs, ``n = 3·Σw``):

* ``input_fMSE = Σw·e²/n`` (how far off the composite was) and ``change = Σw·d²/n`` (how far the model moved it);
* ``step = Σw·d·e / Σw·d²``: the least-squares multiple of the model's own change (1 = it moved as far as it
  should along its direction, < 1 too far, > 1 not far enough, < 0 the wrong way);
* ``shrunk fMSE(g) = input_fMSE − 2g·Σw·d·e/n + g²·change``: the error of ``c + g·d``, exact, for the shrink
  factors asked for — what scaling the change down would do, without running anything again;
* ``chroma_shift = C̄(y) − C̄(r)`` and ``input_chroma_shift = C̄(c) − C̄(r)``, with ``C̄`` the foreground's mean CIELAB
  chroma ``√(a² + b²)`` (weights ``w``): negative when the object is greyer than the real one — the pull of
  saturated objects towards a grey background that the pictures show.

Example:
    >>> import torch
    >>> composite = torch.zeros(1, 3, 4, 4); real = torch.full((1, 3, 4, 4), 10.0)
    >>> output = composite + 0.5 * (real - composite)  # half of the needed change
    >>> row = image_calibration(composite, output, real, torch.ones(1, 1, 4, 4), shrink=(1.0, 2.0))[0]
    >>> row['input_fMSE'], row['change'], row['step'], row['shrunk_fMSE']
    (100.0, 25.0, 2.0, {1.0: 25.0, 2.0: 0.0})
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

import torch
from torch import Tensor

from toolkit.metrics import get_profile
from toolkit.metrics.harmonization_metric import prepare_for_profile

#: shrink factors reported by default
DEFAULT_SHRINK = (1.0, 0.8, 0.6, 0.4)
#: a foreground counts as "greyer than the real object" when its mean chroma is this many CIELAB units below
GREYER_BY = 5.0


def image_calibration(composite: Tensor, output: Tensor, real: Tensor, weights: Tensor,
                      shrink: Sequence[float] = DEFAULT_SHRINK) -> list[dict]:
    """Per image of a batch: ``input_fMSE``, ``fMSE``, ``change``, ``step`` and ``shrunk_fMSE {g: value}``.

    Args:
        composite, output, real: ``(B, 3, H, W)`` on 0–255.
        weights: ``(B, 1, H, W)`` foreground weights (the soft mask) in [0, 1].

    An image without foreground gives NaN values; ``step`` is NaN when the model changed nothing.
    """
    if not (composite.shape == output.shape == real.shape) or composite.ndim != 4 or composite.shape[1] != 3:
        raise ValueError(f'composite, output and real must be (B, 3, H, W) alike; got {tuple(composite.shape)}, '
                         f'{tuple(output.shape)}, {tuple(real.shape)}')
    if weights.shape != (composite.shape[0], 1, *composite.shape[2:]):
        raise ValueError(f'weights must be (B, 1, H, W); got {tuple(weights.shape)}')
    composite, output, real, weights = (t.to(torch.float64) for t in (composite, output, real, weights))
    area = weights.flatten(1).sum(1)
    mean_chroma = {key: (weights * foreground_chroma(image)).flatten(1).sum(1) / area.clamp_min(1e-12)
                   for key, image in (('composite', composite), ('output', output), ('real', real))}
    change, needed = output - composite, real - composite
    count = 3.0 * area
    moved = (weights * change * change).flatten(1).sum(1)
    along = (weights * change * needed).flatten(1).sum(1)
    off = (weights * needed * needed).flatten(1).sum(1)
    rows = []
    for index in range(composite.shape[0]):
        n = float(count[index])
        if n <= 0:
            nan = float('nan')
            rows.append(dict(input_fMSE=nan, fMSE=nan, change=nan, step=nan, shrunk_fMSE={g: nan for g in shrink},
                             chroma_shift=nan, input_chroma_shift=nan))
            continue
        input_fmse, change_size, inner = float(off[index]) / n, float(moved[index]) / n, float(along[index]) / n
        shrunk = {float(g): max(input_fmse - 2.0 * g * inner + g * g * change_size, 0.0) for g in shrink}
        rows.append(dict(input_fMSE=input_fmse, fMSE=shrunk.get(1.0, max(input_fmse - 2 * inner + change_size, 0.0)),
                         change=change_size, step=inner / change_size if change_size > 0 else float('nan'),
                         shrunk_fMSE=shrunk,
                         chroma_shift=float(mean_chroma['output'][index] - mean_chroma['real'][index]),
                         input_chroma_shift=float(mean_chroma['composite'][index] - mean_chroma['real'][index])))
    return rows


def foreground_chroma(images: Tensor) -> Tensor:
    """CIELAB chroma ``√(a² + b²)`` of ``(B, 3, H, W)`` images on 0–255: ``(B, 1, H, W)``.

    Example:
        >>> red = torch.tensor([255.0, 0.0, 0.0]).view(1, 3, 1, 1)
        >>> grey = torch.full((1, 3, 1, 1), 128.0)  # a = b = 0 up to the rounding of the white point
        >>> round(float(foreground_chroma(red)), 1), round(float(foreground_chroma(grey)), 1)
        (104.6, 0.0)
    """
    from toolkit.ops.color import rgb_to_lab
    lab = rgb_to_lab((images / 255.0).clamp(0, 1))
    return lab[:, 1:3].pow(2).sum(1, keepdim=True).sqrt()


def _median(values: Sequence[float]) -> float:
    values = sorted(v for v in values if math.isfinite(v))
    if not values:
        return float('nan')
    middle = len(values) // 2
    return values[middle] if len(values) % 2 else 0.5 * (values[middle - 1] + values[middle])


def _ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):  # ties share their mean rank
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = 0.5 * (start + end)
        start = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation (Pearson's on the ranks, ties at their mean rank); NaN below 3 pairs."""
    if len(x) != len(y):
        raise ValueError('spearman needs two sequences of the same length')
    if len(x) < 3:
        return float('nan')
    rx, ry = _ranks(list(x)), _ranks(list(y))
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sx, sy = math.sqrt(sum((a - mx) ** 2 for a in rx)), math.sqrt(sum((b - my) ** 2 for b in ry))
    return cov / (sx * sy) if sx > 0 and sy > 0 else float('nan')


def summarize_calibration(rows: Sequence[dict], edges: Optional[Sequence[float]] = None) -> dict:
    """Per bin of ``input_fMSE`` (the leaderboard's bins): N, mean input fMSE, mean change, median step, mean
    fMSE and worse-than-input count; over all images: Spearman's ρ between change and input fMSE, and per shrink
    factor the mean fMSE and the worse count."""
    from .runner import INPUT_ERROR_EDGES, group_by_input_error
    rows = [row for row in rows if math.isfinite(row['input_fMSE'])]
    bins = {}
    groups = group_by_input_error(rows, lambda row: row['input_fMSE'], INPUT_ERROR_EDGES if edges is None else edges)
    for label, members in groups.items():
        entry = dict(N=len(members))
        if members:
            entry.update(input_fMSE=sum(r['input_fMSE'] for r in members) / len(members),
                         change=sum(r['change'] for r in members) / len(members),
                         median_step=_median([r['step'] for r in members]),
                         fMSE=sum(r['fMSE'] for r in members) / len(members),
                         worse=sum(1 for r in members if r['fMSE'] > r['input_fMSE']))
        bins[label] = entry
    factors = sorted({g for row in rows for g in row['shrunk_fMSE']}, reverse=True)
    shrink = {g: dict(fMSE=sum(r['shrunk_fMSE'][g] for r in rows) / len(rows) if rows else float('nan'),
                      worse=sum(1 for r in rows if r['shrunk_fMSE'][g] > r['input_fMSE'])) for g in factors}
    chroma = {}
    for key, label in (('input_chroma_shift', 'input'), ('chroma_shift', 'output')):
        values = [r[key] for r in rows if math.isfinite(r.get(key, float('nan')))]
        chroma[label] = dict(mean=sum(values) / len(values) if values else float('nan'),
                             greyer_by_5=sum(1 for v in values if v < -GREYER_BY))
    return dict(N=len(rows), spearman_change_vs_input=spearman([r['change'] for r in rows],
                                                               [r['input_fMSE'] for r in rows]),
                bins=bins, shrink=shrink, chroma_shift=chroma)


def calibrate(model_name: str, data_root: str, resolution: int = 256, subsets: Optional[Sequence[str]] = None,
              shrink: Sequence[float] = DEFAULT_SHRINK, batch_size: int = 8, device: str = 'cpu',
              max_images: Optional[int] = None) -> dict:
    """Run a model on a dataset's test split as the leaderboard does (straight resize to ``resolution``, toolkit
    profile) and return ``dict(model, data_root, resolution, per_image=[…], summary=summarize_calibration(…))``."""
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader, Subset

    from .models import build_model, check_scorable, resolve_model
    from .quality import build_dataset
    profile = get_profile('toolkit')
    spec = resolve_model(model_name)
    model = build_model(spec, device)
    check_scorable(spec, model)
    dataset = build_dataset(data_root, resolution, subsets, profile=profile)
    indices = list(range(len(dataset) if max_images is None else min(max_images, len(dataset))))
    loader = DataLoader(Subset(dataset, indices), batch_size=batch_size, collate_fn=pseudo_collate, shuffle=False)
    per_image = []
    with torch.no_grad():
        for batch in loader:
            samples = model(**model.data_preprocessor(batch), mode='predict')
            # the images as the leaderboard scores them (clipped, quantized, the mask binarised: the profile's
            # prepare_for_profile), so that g = 1 reproduces its fMSE
            scored = [prepare_for_profile(sample.pred_img.cpu(), sample.gt_img.cpu(), sample.soft_mask.cpu(), profile)
                      for sample in samples]
            composites = [prepare_for_profile(sample.composite_img.cpu(), sample.gt_img.cpu(), sample.soft_mask.cpu(),
                                              profile)[0] for sample in samples]
            output, real, weights = (torch.stack(parts) for parts in zip(*scored))
            rows = image_calibration(torch.stack(composites), output, real, weights, shrink)
            per_image += [dict(name=s.name, subset=s.subset, **row) for s, row in zip(samples, rows)]
    return dict(model=spec.name, data_root=data_root, resolution=resolution, per_image=per_image,
                summary=summarize_calibration(per_image))
