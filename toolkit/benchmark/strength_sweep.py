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


def _foreground_weights(mask: np.ndarray) -> np.ndarray:
    """``(H, W)`` float64 weights in [0, 1] of a uint8 0–255 or float [0, 1] mask; refused without foreground."""
    weights = np.asarray(mask, dtype=np.float64) / (255.0 if np.asarray(mask).dtype == np.uint8 else 1.0)
    if weights.sum() <= 0:
        raise ValueError('the mask has no foreground')
    return weights


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
    weights = _foreground_weights(mask)
    area = 3.0 * weights.sum()
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


def member_agreement(changes: Sequence[np.ndarray], weights: Sequence[float], mask: np.ndarray) -> float:
    """How much an ensemble's members agree on a composite's change: ``R = mean‖Σᵢ wᵢ·dᵢ‖² / Σᵢ wᵢ·mean‖dᵢ‖²``,
    foreground means weighted by the soft mask, ``dᵢ`` member ``i``'s change (its output minus the composite).

    ``R`` is 1 when every member makes the same change and falls towards 0 as their changes cancel; it needs no
    real image, so a strength ``s = min(1, R / τ)`` could be applied at harmonize time. By Jensen's inequality
    ``R ≤ 1`` for weights summing to 1; 1 where no member moves.

    Args:
        changes: per member ``(H, W, 3)`` output − composite, on 0–255.
        weights: the members' weights (normalised here).
        mask: ``(H, W)`` uint8 0–255 or float in [0, 1].

    Example:
        >>> mask = np.ones((2, 2)); up = np.full((2, 2, 3), 10.0)
        >>> member_agreement([up, up], [1, 1], mask), member_agreement([up, -up], [1, 1], mask)
        (1.0, 0.0)
        >>> round(member_agreement([up, np.zeros_like(up)], [1, 1], mask), 3)  # one moves, one stays: (½)² / ½
        0.5
    """
    weights = np.asarray(weights, dtype=np.float64)
    weights = weights / weights.sum()
    area = _foreground_weights(mask)
    changes = [np.asarray(change, dtype=np.float64) for change in changes]
    mixed = sum(w * change for w, change in zip(weights, changes))
    spread = sum(w * float((area * (change ** 2).sum(-1)).sum()) for w, change in zip(weights, changes))
    return 1.0 if spread <= 0 else float((area * (mixed ** 2).sum(-1)).sum() / spread)


def gated_rows(per_image: Sequence[dict], gates: Sequence[float], thresholds: Sequence[float]) -> list[dict]:
    """Per threshold ``τ``, the sweep's scores with each image at strength ``min(1, g / τ)`` (``g`` its gate value,
    e.g. :func:`member_agreement`), read exactly off the image's quadratic ``A + 2sB + s²C``: fMSE averaged per subset
    then over subsets, images made worse, and the mean strength.

    Args:
        per_image: :func:`sweep_strengths` rows (``name``, ``A``, ``B``, ``C``); gates: one value per row, in order.

    Example:
        >>> rows = [dict(name='S/a', A=100.0, B=-200.0, C=400.0), dict(name='S/b', A=10.0, B=5.0, C=40.0)]
        >>> [(row['fMSE'], row['worse']) for row in gated_rows(rows, [0.25, 1.0], [0.5])]  # s = 0.5, 1: 0, 60
        [(30.0, 1)]
    """
    from .selection import mean_over_subsets
    if len(gates) != len(per_image):
        raise ValueError(f'{len(gates)} gate values for {len(per_image)} images')
    rows = []
    for threshold in thresholds:
        if not threshold > 0:
            raise ValueError(f'a gate threshold must be positive, got {threshold}')
        strength = {row['name']: min(1.0, gate / threshold) for row, gate in zip(per_image, gates)}

        def fmse(row, strength=strength):
            s = strength[row['name']]
            return row['A'] + 2 * s * row['B'] + s * s * row['C']
        rows.append(dict(threshold=threshold, fMSE=mean_over_subsets(per_image, fmse),
                         worse=sum(1 for row in per_image if fmse(row) > row['A'] + 1e-9),
                         mean_strength=float(np.mean(list(strength.values())))))
    return rows


def ensemble_agreement(model: str, data_root: str) -> dict[str, float]:
    """:func:`member_agreement` of an ensemble on each composite of ``data_root``'s test split: each member's own
    output at the network's resolution (the composite and mask resized as :class:`~toolkit.apis.Harmonizer` resizes
    them, the member run through a Harmonizer of its own) minus the composite, weighted by the resized mask.

    Returns:
        ``{image name: R}`` in the dataset's order.

    Raises:
        ValueError: ``model`` is not an ensemble, or ``data_root`` is evaluation data.
    """
    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import native_triplets

    from .selection import is_evaluation_data
    if is_evaluation_data(data_root):
        raise ValueError(f'{data_root} is evaluation data; judge a gate on a dev set only')
    ensemble = Harmonizer.from_pretrained(model)
    if not callable(getattr(ensemble.model, 'mix_levels', None)):
        raise ValueError(f'{model} is not an ensemble; member agreement needs two or more members')
    # each member's own output: since the 256² fix, harmonize would carry a fitted change there instead
    members = [Harmonizer(member, resolution=ensemble.resolution, device=ensemble.device, full_res=False)
               for member in ensemble.model.members]
    agreement = {}
    for info, low_composite, _, low_mask in native_triplets(data_root, size=ensemble.resolution):
        changes = [member.harmonize(low_composite, low_mask).astype(np.float64) - low_composite for member in members]
        agreement[info['name']] = member_agreement(changes, ensemble.model.member_weights, low_mask)
    return agreement
