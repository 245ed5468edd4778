"""Score full-resolution outputs (the colour-transform path vs bilinear upsampling) against the real images.

Images are streamed one at a time and the metrics are accumulated over row bands
(:func:`~toolkit.metrics.harmonization_metric.native_image_metrics`), so memory stays bounded whatever the image size.
"""
from __future__ import annotations

import os
from typing import Callable, Optional, Sequence

import numpy as np

from toolkit.datasets import IHarmony4Dataset, read_image, read_mask
from toolkit.datasets.transforms.processing import match_size, resize_image, resize_mask
from toolkit.metrics import METRIC_NAMES
from toolkit.metrics.harmonization_metric import native_image_metrics

#: metrics at the images' own size (no resize), otherwise the toolkit definitions
NATIVE_PROFILE = dict(name='toolkit-native', resolution=None)
OUTPUTS = ('input composite', 'bilinear upsampling', 'full-resolution transfer')


def native_triplets(data_root: str, subsets: Optional[Sequence[str]] = None, min_side: int = 0,
                    size: Optional[int] = None):
    """The test split's triplets at their own size, one at a time: ``(info, composite (H, W, 3) uint8, real (H, W, 3)
    uint8, mask (H, W) uint8)``, the real image and mask checked against the composite's size; composites whose
    shorter side is below ``min_side`` are skipped. With ``size``, each triplet is resized to ``size × size`` first
    (as :class:`~toolkit.apis.Harmonizer` resizes a composite for its network: area for images, bilinear for masks),
    to score what ``harmony harmonize`` gives at the field's evaluation size."""
    dataset = IHarmony4Dataset(data_root, split='test', subsets=subsets)
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        composite = read_image(info['composite_path'])
        if min(composite.shape[:2]) < min_side:
            continue
        real = match_size(read_image(info['gt_path']), composite.shape[:2], info['gt_path'], info['composite_path'],
                          kind='image')
        mask = match_size(read_mask(info['mask_path'], dtype=np.uint8), composite.shape[:2], info['mask_path'],
                          info['composite_path'])
        if size is not None:
            composite, real = (resize_image(image, (size, size)) for image in (composite, real))
            mask = resize_mask(mask, (size, size))
        yield info, composite, real, mask


def compare_full_res(harmonizer, data_root: str, subsets: Optional[Sequence[str]] = None, min_side: int = 512,
                     progress: Optional[Callable[[str], None]] = None, size: Optional[int] = None,
                     oracle: bool = False) -> dict:
    """Mean metrics at native resolution for ``full_res=True`` and ``False`` (and the input composite).

    Only triplets whose shorter side is at least ``min_side`` count (the point is full resolution). With ``size``
    every triplet is first resized to ``size × size`` (:func:`native_triplets`); the result records it.

    With ``oracle`` the model is not run: the real image resized to the network's resolution stands for its output
    and is carried by the same path (:meth:`~toolkit.apis.Harmonizer.carry`), so the scores are the path's own
    floor, what a network that is exact at its own size would still get.

    Returns:
        ``dict(images=[…], results={output: {metric: mean}}, per_image=[{name, size, output: {metric}}], profile)``.
    """
    per_image = []
    for info, composite, target, mask in native_triplets(data_root, subsets, min_side, size):
        if progress:
            progress(info['name'])
        row = dict(name=info['name'], size=f'{composite.shape[1]}x{composite.shape[0]}')
        # the oracle's stand-in output, once for both ways of carrying it
        low_real = resize_image(target, (harmonizer.resolution,) * 2) if oracle else None
        for output_name, full_res in zip(OUTPUTS, (None, False, True)):
            if full_res is None:
                output = composite
            elif oracle:
                output = harmonizer.carry(composite, mask, low_real, full_res=full_res)
            else:
                output = harmonizer.harmonize(composite, mask, full_res=full_res)
            row[output_name] = native_image_metrics(output, target, mask, NATIVE_PROFILE)
            del output
        per_image.append(row)
    results = {name: {metric: float(np.nanmean([row[name][metric] for row in per_image])) for metric in METRIC_NAMES}
               for name in OUTPUTS} if per_image else {}
    return dict(images=[f'{row["name"]} ({row["size"]})' for row in per_image], results=results, per_image=per_image,
                profile=NATIVE_PROFILE, data_root=os.path.abspath(data_root), min_side=min_side,
                size=size, oracle=oracle)
