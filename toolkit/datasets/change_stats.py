"""How far a dataset's composites are from their real images: the distribution of change sizes, to compare a
training set's recipe with the data it should resemble (iHarmony4's published composite rows).

The change of one composite is the MSE between composite and real image at 256×256 (area resampling), as the
field reports it for the "composite" row of its tables: iHarmony4's composites score MSE 345.54 (HAdobe5k), 264.35
(HFlickr), 69.37 (HCOCO), 109.65 (Hday2night), 172.47 (all) in DoveNet's Table 1.
"""
from __future__ import annotations

from typing import Optional

import cv2
import numpy as np

from .iharmony4 import IHarmony4Dataset
from .io import read_image, read_mask

#: MSE of iHarmony4's test composites against their real images at 256×256 (DoveNet, CVPR 2020, Table 1)
IHARMONY4_COMPOSITE_MSE = {'HAdobe5k': 345.54, 'HFlickr': 264.35, 'HCOCO': 69.37, 'Hday2night': 109.65,
                           'All': 172.47}
#: histogram bin edges of the change (MSE on 0–255)
CHANGE_BINS = (0.0, 1e-9, 25.0, 100.0, 400.0, 1600.0, float('inf'))


def read_resized_triplet(info: dict, resolution: int, with_mask: bool = True) -> tuple:
    """A dataset entry's composite and real image (``(resolution, resolution, 3)`` float64 on 0–255) and, with
    ``with_mask``, its soft mask (``(resolution, resolution)`` float32 in [0, 1]), all area-resampled as the field's
    256² tables are."""
    size = (resolution, resolution)
    composite, real = (cv2.resize(read_image(info[key]), size, interpolation=cv2.INTER_AREA).astype(np.float64)
                       for key in ('composite_path', 'gt_path'))
    if not with_mask:
        return composite, real
    return composite, real, cv2.resize(read_mask(info['mask_path']), size, interpolation=cv2.INTER_AREA)


def composite_changes(root: str, split: str = 'test', resolution: int = 256,
                      max_images: Optional[int] = None) -> dict[str, list[float]]:
    """``{subset: [MSE of each composite against its real image at resolution²]}`` of an iHarmony4-layout root."""
    dataset = IHarmony4Dataset(root, split=split)
    changes: dict[str, list[float]] = {}
    for index in range(len(dataset) if max_images is None else min(max_images, len(dataset))):
        info = dataset.get_data_info(index)
        composite, real = read_resized_triplet(info, resolution, with_mask=False)
        changes.setdefault(info['subset'], []).append(float(np.mean((composite - real) ** 2)))
    return changes


def summarize_changes(changes: dict[str, list[float]]) -> dict[str, dict]:
    """Per subset and ``All``: N, mean MSE, the share of unchanged composites, quartiles and the histogram over
    :data:`CHANGE_BINS`.

    Example:
        >>> summary = summarize_changes({'S': [0.0, 10.0, 30.0, 2000.0]})
        >>> summary['All']['N'], summary['All']['mean'], summary['All']['unchanged'], summary['All']['histogram']
        (4, 510.0, 0.25, [1, 1, 1, 0, 0, 1])
    """
    groups = dict(changes, All=[value for values in changes.values() for value in values])
    summary = {}
    for name, values in groups.items():
        array = np.asarray(values, dtype=np.float64)
        counts, _ = np.histogram(array, bins=np.asarray(CHANGE_BINS))
        summary[name] = dict(N=int(array.size), mean=float(array.mean()) if array.size else float('nan'),
                             unchanged=float(np.mean(array == 0)) if array.size else float('nan'),
                             quartiles=[float(q) for q in np.percentile(array, (25, 50, 75))] if array.size else [],
                             histogram=[int(c) for c in counts])
    return summary
