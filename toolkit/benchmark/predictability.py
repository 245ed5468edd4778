"""How much does what a model can see say about how far off a composite is? (``tools/error_predictability.py``)

A harmonizer should move a composite that is far off and leave one that fits alone; it can only do that if its
inputs tell the two apart. This probe measures that evidence directly, without any harmonizer: a small regressor
learns ``log(1 + input fMSE)`` (the composite's own foreground error against its real image, on 0–255) from
per-composite features on training composites, and is scored by the Spearman correlation between its prediction and
the true error on held-out (dev) composites. A correlation near 0 says the features carry no such evidence, however
the harmonizer on top is trained; the in-sample correlation shows the regressor could fit what it was given.

Example (the error is the first feature, the second is noise):
    >>> generator = torch.Generator().manual_seed(0)
    >>> features = torch.rand(400, 2, generator=generator)
    >>> errors = 1000 * features[:, 0]
    >>> predict = fit_error_regressor(features[:300], errors[:300], steps=500)
    >>> spearman(predict(features[300:]).tolist(), errors[300:].tolist()) > 0.9
    True
"""
from __future__ import annotations

from typing import Callable, Optional

import torch
from torch import Tensor, nn

from .calibration import spearman

#: ``features(composite (1, 3, H, W) in [0, 1], mask (1, 1, H, W)) → (1, F)``
FeatureFunction = Callable[[Tensor, Tensor], Tensor]

__all__ = ['composite_errors_and_features', 'fit_error_regressor', 'spearman']


def composite_errors_and_features(data_root: str, split: str, features: FeatureFunction, resolution: int = 256,
                                  every: int = 1, max_images: Optional[int] = None) -> tuple[Tensor, Tensor, list]:
    """Read an iHarmony4-layout split: ``(features (N, F), input fMSE (N,), names)``.

    Each composite, mask and real image is area-resized to ``resolution``² (the mask thresholded at 0.5 for the
    error, soft for the features); input fMSE is the foreground MSE of composite vs real on 0–255 over the three
    channels (the leaderboard's fMSE of the input, before quantization). ``every`` keeps every n-th composite.
    """
    from toolkit.datasets import IHarmony4Dataset
    from toolkit.datasets.change_stats import read_resized_triplet
    dataset = IHarmony4Dataset(data_root, split=split)
    indices = list(range(0, len(dataset), every))[:max_images]
    rows, errors, names = [], [], []
    for index in indices:
        info = dataset.get_data_info(index)
        composite, real, mask = read_resized_triplet(info, resolution)
        foreground = (mask > 0.5)[..., None]
        count = 3 * foreground.sum()
        errors.append(float(((composite - real) ** 2 * foreground).sum() / count) if count else float('nan'))
        image = torch.from_numpy(composite / 255.0).float().permute(2, 0, 1)[None]
        rows.append(features(image, torch.from_numpy(mask)[None, None])[0])
        names.append(info['name'])
    return torch.stack(rows), torch.tensor(errors, dtype=torch.float64), names


def fit_error_regressor(features: Tensor, errors: Tensor, hidden: int = 128, steps: int = 3000, batch: int = 256,
                        lr: float = 1e-3, weight_decay: float = 1e-3, held_out: float = 0.2, check_every: int = 50,
                        seed: int = 0) -> Callable[[Tensor], Tensor]:
    """Fit an MLP (two hidden layers; inputs and target standardised) to ``log(1 + errors)``; returns
    ``predict(features) → (N,)`` log-errors.

    Early stopping: a random ``held_out`` share of the composites is set aside and the weights kept are those with the
    lowest squared error on it (checked every ``check_every`` steps), so that neither under- nor over-fitting decides
    what the probe reports: composites are few and the features many.
    """
    if features.ndim != 2 or errors.shape != (features.shape[0],):
        raise ValueError(f'features must be (N, F) and errors (N,); got {tuple(features.shape)}, '
                         f'{tuple(errors.shape)}')
    keep = torch.isfinite(errors)
    features, target = features[keep].float(), torch.log1p(errors[keep]).float()
    generator = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(target), generator=generator)
    split = max(1, int(round(held_out * len(target))))
    check, fit = order[:split], order[split:]
    mean, scale = features[fit].mean(0), features[fit].std(0) + 1e-6
    level, spread = target[fit].mean(), target[fit].std() + 1e-6
    inputs, scaled_target = (features - mean) / scale, (target - level) / spread
    torch.manual_seed(seed)
    network = nn.Sequential(nn.Linear(features.shape[1], hidden), nn.ReLU(), nn.Linear(hidden, hidden), nn.ReLU(),
                            nn.Linear(hidden, 1))
    optimizer = torch.optim.Adam(network.parameters(), lr, weight_decay=weight_decay)
    best, best_state = float('inf'), None
    for step in range(1, steps + 1):
        picked = fit[torch.randint(0, len(fit), (min(batch, len(fit)),), generator=generator)]
        loss = ((network(inputs[picked])[:, 0] - scaled_target[picked]) ** 2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % check_every == 0 or step == steps:
            with torch.no_grad():
                check_loss = float(((network(inputs[check])[:, 0] - scaled_target[check]) ** 2).mean())
            if check_loss < best:
                best, best_state = check_loss, {k: v.clone() for k, v in network.state_dict().items()}
    network.load_state_dict(best_state)
    network.eval()

    def predict(new_features: Tensor) -> Tensor:
        with torch.no_grad():
            return network((new_features.float() - mean) / scale)[:, 0] * spread + level
    return predict
