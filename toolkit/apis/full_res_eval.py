"""Score full-resolution outputs (guided colour transform vs bilinear upsampling) against the real images."""
from __future__ import annotations

from typing import Optional, Sequence

import numpy as np

from toolkit.datasets import IHarmony4Dataset, read_image, read_mask
from toolkit.metrics import METRIC_NAMES, compute_image_metrics

#: metrics at the images' own size (no resize), otherwise the toolkit definitions
NATIVE_PROFILE = dict(name='toolkit-native', resolution=None)


def compare_full_res(harmonizer, data_root: str, subsets: Optional[Sequence[str]] = None,
                     min_side: int = 512) -> dict:
    """Mean metrics at native resolution for ``full_res=True`` and ``False`` (and the input composite).

    Only triplets whose shorter side is at least ``min_side`` count (the point is full resolution).
    """
    dataset = IHarmony4Dataset(data_root, split='test', subsets=subsets)
    rows = {'input composite': [], 'bilinear upsampling': [], 'local affine colour transform': []}
    names = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        composite, target = read_image(info['composite_path']), read_image(info['gt_path'])
        mask = read_mask(info['mask_path'])
        if min(composite.shape[:2]) < min_side or mask.shape != composite.shape[:2]:
            continue
        names.append(f'{info["name"]} ({composite.shape[1]}x{composite.shape[0]})')
        outputs = {'input composite': composite,
                   'bilinear upsampling': harmonizer.harmonize(composite, mask, full_res=False),
                   'local affine colour transform': harmonizer.harmonize(composite, mask, full_res=True)}
        for row, output in outputs.items():
            rows[row].append(compute_image_metrics(output.transpose(2, 0, 1), target.transpose(2, 0, 1),
                                                   mask[None], NATIVE_PROFILE))
    summary = {row: {name: float(np.mean([r[name] for r in records])) for name in METRIC_NAMES}
               for row, records in rows.items() if records}
    return dict(images=names, results=summary)
