"""How a model scores at each strength (``harmony harmonize --strength``) on a dev set, in one pass
(``tools/strength_sweep.py``).

At strength ``s`` the output is ``composite + s·m·(harmonized − composite)`` (:class:`~toolkit.apis.Harmonizer`), so
the question "would the model do better if it moved less?" has an answer on dev data for the price of one network
pass per image (:meth:`~toolkit.apis.Harmonizer.harmonize_at_strengths`). Each strength is scored as the selection's
native boards score a model: through the full-resolution path at the image's own size, fMSE and foreground SSIM
(:func:`~toolkit.metrics.harmonization_metric.native_image_metrics`) averaged per subset, then over subsets, with the
images made worse than the input counted.

Beside the grid, a bound that no user setting reaches: each image at its own best strength, read off the quadratic
``fMSE(s) = A + 2·s·B + s²·C`` (``A`` the input's fMSE, ``B`` the foreground mean of ``(composite − real)·(output −
composite)``, ``C`` that of ``(output − composite)²``, the output at strength 1; minimised at ``s* = clip(−B / C, 0,
1)``). It needs the real image, so it says how much of a model's error is the size of its change rather than its
direction. ``C`` needs no real image: the per-image rows keep it, the predicted change's size, so that a gate on it can
be judged from the file. A diagnostic for dev data; evaluation data is refused.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np

#: the grid swept by default
DEFAULT_STRENGTHS = (0.6, 0.7, 0.8, 0.9, 1.0)


def change_moments(composite: np.ndarray, output: np.ndarray, real: np.ndarray, mask: np.ndarray) -> dict:
    """``A``, ``B``, ``C`` of the module's quadratic: foreground means (weighted by the soft mask, over the three
    channels, as fMSE) of ``(composite − real)²``, ``(composite − real)·(output − composite)`` and ``(output −
    composite)²``; ``best_strength`` = ``clip(−B / C, 0, 1)`` (0 where the output does not move) and ``best_fMSE`` the
    quadratic there.

    Args:
        composite, output, real: ``(H, W, 3)`` on 0–255; mask: ``(H, W)`` uint8 0–255 or float in [0, 1].

    Example:
        >>> real = np.full((2, 2, 3), 100.0); composite = real + 10; output = real - 10  # overshoots by twice
        >>> moments = change_moments(composite, output, real, np.ones((2, 2)))
        >>> [moments[key] for key in ('A', 'B', 'C', 'best_strength', 'best_fMSE')]
        [100.0, -200.0, 400.0, 0.5, 0.0]
    """
    weights = np.asarray(mask, dtype=np.float64) / (255.0 if np.asarray(mask).dtype == np.uint8 else 1.0)
    area = 3.0 * weights.sum()
    if area <= 0:
        raise ValueError('the mask has no foreground')
    composite, output, real = (np.asarray(x, dtype=np.float64) for x in (composite, output, real))
    error, change = composite - real, output - composite
    weights = weights[..., None]
    a = float((weights * error * error).sum() / area)
    b = float((weights * error * change).sum() / area)
    c = float((weights * change * change).sum() / area)
    best = float(np.clip(-b / c, 0.0, 1.0)) if c > 0 else 0.0
    return dict(A=a, B=b, C=c, best_strength=best, best_fMSE=a + 2 * best * b + best * best * c)


def sweep_strengths(model: str, data_root: str, strengths: Sequence[float] = DEFAULT_STRENGTHS) -> dict:
    """Score ``model`` at each of ``strengths`` on ``data_root``'s test split at native resolution.

    Returns:
        ``dict(model, data_root, images, input_fMSE, input_fSSIM, rows=[{strength, fMSE, fSSIM, worse}],
        best_per_image={fMSE, worse, mean_strength}, per_image=[{name, input_fMSE, input_fSSIM, A, B, C,
        best_strength, best_fMSE, fMSE: {s: …}, fSSIM: {s: …}}])``; means per subset then over subsets.

    Raises:
        ValueError: evaluation data, or a strength outside [0, 1].
    """
    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import NATIVE_PROFILE, native_triplets
    from toolkit.apis.harmonizer import check_strength
    from toolkit.metrics.harmonization_metric import native_image_metrics

    from .selection import is_evaluation_data, mean_over_subsets
    if is_evaluation_data(data_root):
        raise ValueError(f"{data_root} is evaluation data; choose a strength on a dev set only")
    strengths = [check_strength(value) for value in strengths]
    grid = sorted(set(strengths) | {1.0})  # strength 1 gives the quadratic's output
    harmonizer = Harmonizer.from_pretrained(model)
    per_image = []
    for info, composite, real, mask in native_triplets(data_root):
        before = native_image_metrics(composite, real, mask, NATIVE_PROFILE)
        row = dict(name=info['name'], input_fMSE=before['fMSE'], input_fSSIM=before['fSSIM'], fMSE={}, fSSIM={})
        for strength, output in harmonizer.harmonize_at_strengths(composite, mask, grid):
            scores = native_image_metrics(output, real, mask, NATIVE_PROFILE)
            row['fMSE'][strength], row['fSSIM'][strength] = scores['fMSE'], scores['fSSIM']
            if strength == 1.0:
                row.update(change_moments(composite, output, real, mask))
        per_image.append(row)
    rows = [dict(strength=s, fMSE=mean_over_subsets(per_image, lambda row, s=s: row['fMSE'][s]),
                 fSSIM=mean_over_subsets(per_image, lambda row, s=s: row['fSSIM'][s]),
                 worse=sum(1 for row in per_image if row['fMSE'][s] > row['input_fMSE'])) for s in strengths]
    best = dict(fMSE=mean_over_subsets(per_image, lambda row: row['best_fMSE']),
                worse=sum(1 for row in per_image if row['best_fMSE'] > row['input_fMSE'] + 1e-9),
                mean_strength=float(np.mean([row['best_strength'] for row in per_image])) if per_image else None)
    return dict(model=model, data_root=data_root, images=len(per_image),
                input_fMSE=mean_over_subsets(per_image, lambda row: row['input_fMSE']),
                input_fSSIM=mean_over_subsets(per_image, lambda row: row['input_fSSIM']),
                rows=rows, best_per_image=best, per_image=per_image)
