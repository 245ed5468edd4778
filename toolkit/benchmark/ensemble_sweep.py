"""How an ensemble scores for each choice of its weights, on a dev set, in one pass (``tools/ensemble_sweep.py``).

For member weights ``(w_1, …, w_n)`` (summing to one) the ensemble's output is ``Σ w_k · member_k``
(:class:`~toolkit.models.ensemble.HarmonizationEnsemble`; with ``colour_mean='chroma'`` the chroma-preserving mean);
for two members a single number ``w`` stands for ``(w, 1 − w)``. One run of each member gives every weight vector:

* **native fMSE** (what the selection's native boards score): each member through the full-resolution path at the
  image's own size (``harmony harmonize``), the weighted mean rounded as the Harmonizer rounds it, scored with
  :func:`~toolkit.metrics.harmonization_metric.native_image_metrics`; with the images made worse than the input;
* **chroma shift** (what the selection's chroma check reads, :func:`toolkit.benchmark.selection.read_chroma_board`):
  the members' 256² outputs as ``tools/change_calibration.py`` scores them, weighted, and the foreground's mean CIELAB
  chroma against the real object's.

Both are averaged per subset, then over subsets, as the selection averages them. A diagnostic for choosing an
ensemble's weight on dev data; evaluation data is refused.
"""
from __future__ import annotations

from typing import Sequence, Union

import numpy as np
import torch

#: the grid of first-member weights swept by default (two members)
DEFAULT_WEIGHTS = (0.5, 0.6, 0.7, 0.8)


def weight_vectors(weights: Sequence[Union[float, Sequence[float]]], members: int) -> list[tuple[float, ...]]:
    """Each grid point as one weight per member: a number ``w`` means ``(w, 1 − w)`` (two members only).

    Raises:
        ValueError: a weight outside [0, 1], a vector of the wrong length, or one that does not sum to one.

    Examples:
        >>> weight_vectors([0.6, (0.5, 0.5)], 2)
        [(0.6, 0.4), (0.5, 0.5)]
        >>> weight_vectors([(0.5, 0.25, 0.25)], 3)
        [(0.5, 0.25, 0.25)]
    """
    vectors = []
    for item in weights:
        if isinstance(item, (int, float)):
            if members != 2:
                raise ValueError(f'a single weight ({item:g}) stands for (w, 1 - w) and needs two models; with '
                                 f'{members} give one weight per model, e.g. 0.5,0.25,0.25')
            vector = (float(item), 1.0 - float(item))
        else:
            vector = tuple(float(w) for w in item)
        if len(vector) != members:
            raise ValueError(f'{members} models but the weights {list(vector)} have {len(vector)}')
        if any(not 0 <= w <= 1 for w in vector):
            raise ValueError(f'weights must lie in [0, 1]; got {list(vector)}')
        if abs(sum(vector) - 1) > 1e-6:
            raise ValueError(f'the weights of one ensemble must sum to 1; {list(vector)} sums to {sum(vector):g}')
        vectors.append(vector)
    return vectors


def _native_rows(models: Sequence[str], data_root: str, weights: Sequence[tuple], colour_mean: str) -> list[dict]:
    from toolkit.apis import Harmonizer
    from toolkit.apis.full_res_eval import NATIVE_PROFILE, native_triplets
    from toolkit.metrics.harmonization_metric import native_image_metrics
    from toolkit.models.ensemble import mix_levels
    harmonizers = [Harmonizer.from_pretrained(name) for name in models]
    rows = []
    for info, composite, real, mask in native_triplets(data_root):
        levels = [h.harmonize(composite, mask).astype(np.float32) for h in harmonizers]
        row = dict(name=info['name'], input_fMSE=native_image_metrics(composite, real, mask, NATIVE_PROFILE)['fMSE'])
        for weight in weights:
            mean = np.round(np.clip(mix_levels(levels, weight, colour_mean), 0, 255))
            mean = mean.astype(np.uint8)
            row[weight] = native_image_metrics(mean, real, mask, NATIVE_PROFILE)['fMSE']
        rows.append(row)
    return rows


def _chroma_rows(models: Sequence[str], data_root: str, weights: Sequence[tuple], colour_mean: str) -> list[dict]:
    from mmengine.dataset import pseudo_collate
    from torch.utils.data import DataLoader

    from toolkit.metrics import get_profile
    from toolkit.metrics.harmonization_metric import prepare_for_profile
    from toolkit.models.ensemble import mix_outputs

    from .calibration import image_calibration
    from .models import build_model, check_scorable, resolve_model
    from .quality import build_dataset
    profile = get_profile('toolkit')
    built = []
    for name in models:
        spec = resolve_model(name)
        model = build_model(spec)
        check_scorable(spec, model)
        built.append(model)
    rows = []
    with torch.no_grad():
        for batch in DataLoader(build_dataset(data_root, 256, profile=profile), batch_size=8,
                                collate_fn=pseudo_collate):
            outputs = []
            for model in built:
                samples = model(**model.data_preprocessor(batch), mode='predict')
                outputs.append(torch.stack([sample.pred_img.float().clamp(0, 255) for sample in samples]))
            for number, sample in enumerate(samples):
                row = dict(name=sample.name)
                for weight in weights:
                    output = mix_outputs([member[number] for member in outputs], weight, colour_mean)
                    scored, real, mask = prepare_for_profile(output.cpu(), sample.gt_img.cpu(),
                                                             sample.soft_mask.cpu(), profile)
                    composite = prepare_for_profile(sample.composite_img.cpu(), sample.gt_img.cpu(),
                                                    sample.soft_mask.cpu(), profile)[0]
                    row[weight] = image_calibration(composite[None], scored[None], real[None], mask[None],
                                                    shrink=(1.0,))[0]['chroma_shift']
                rows.append(row)
    return rows


def sweep_ensemble_weights(models: Sequence[str], data_root: str,
                           weights: Sequence[Union[float, Sequence[float]]] = DEFAULT_WEIGHTS,
                           colour_mean: str = 'rgb') -> dict:
    """Score ``Σ w_k · models[k]`` for each weight vector in ``weights`` (:func:`weight_vectors`: a number ``w`` is
    ``(w, 1 − w)`` for two models) on ``data_root``'s test split, mixed as an ensemble with this ``colour_mean``
    mixes (:mod:`toolkit.models.ensemble`).

    Returns:
        ``dict(models, data_root, colour_mean, input_fMSE, rows=[{weights, weight, fMSE, worse, chroma_shift}],
        images)``: ``weights`` one per model, ``weight`` the first model's; fMSE and chroma shift averaged per subset
        then over subsets; ``worse`` counts the images whose fMSE exceeds the input's.

    Raises:
        ValueError: fewer than two models, a bad weight (:func:`weight_vectors`), or evaluation data.
    """
    from .selection import is_evaluation_data, mean_over_subsets
    if len(models) < 2:
        raise ValueError(f'an ensemble mixes two models or more; got {len(models)}')
    weights = weight_vectors(weights, len(models))
    if is_evaluation_data(data_root):
        raise ValueError(f'{data_root} is evaluation data; choose an ensemble\'s weight on a dev set only')
    native = _native_rows(models, data_root, weights, colour_mean)
    chroma = _chroma_rows(models, data_root, weights, colour_mean)
    rows = [dict(weights=list(w), weight=w[0], fMSE=mean_over_subsets(native, lambda row, w=w: row[w]),
                 worse=sum(1 for row in native if row[w] > row['input_fMSE']),
                 chroma_shift=mean_over_subsets(chroma, lambda row, w=w: row[w])) for w in weights]
    return dict(models=list(models), data_root=data_root, colour_mean=colour_mean, images=len(native),
                input_fMSE=mean_over_subsets(native, lambda row: row['input_fMSE']), rows=rows)
