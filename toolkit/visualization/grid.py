from __future__ import annotations

from typing import Optional, Sequence

import numpy as np
import torch


def _to_uint8_hwc(image) -> np.ndarray:
    if isinstance(image, torch.Tensor):
        image = image.detach().float().cpu().numpy()
        image = image.transpose(1, 2, 0) if image.ndim == 3 else image
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    elif image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def comparison_grid(columns: Sequence, separator: int = 4, mask: Optional[object] = None) -> np.ndarray:
    """Side-by-side ``(H, N·W + gaps, 3)`` uint8 RGB image of same-size images.

    Args:
        columns: images as ``(3, H, W)`` tensors or ``(H, W, 3)`` arrays on 0–255,
            e.g. ``[composite, prediction, target]``.
        mask: optional ``(1, H, W)``/``(H, W)`` mask in [0, 1], appended as a grey column.

    Example:
        >>> grid = comparison_grid([torch.zeros(3, 8, 8), torch.full((3, 8, 8), 255.)])
        >>> grid.shape, grid.dtype.name
        ((8, 20, 3), 'uint8')
    """
    images = [_to_uint8_hwc(column) for column in columns]
    if mask is not None:
        mask_image = mask[0] if getattr(mask, 'ndim', 0) == 3 else mask
        images.append(_to_uint8_hwc(mask_image * 255.0 if isinstance(mask_image, torch.Tensor)
                                    else np.asarray(mask_image) * 255.0))
    heights = {image.shape[0] for image in images}
    if len(heights) != 1:
        raise ValueError(f'all columns must have the same height; got {sorted(heights)}')
    gap = np.full((images[0].shape[0], separator, 3), 255, dtype=np.uint8)
    pieces = []
    for index, image in enumerate(images):
        if index:
            pieces.append(gap)
        pieces.append(image)
    return np.concatenate(pieces, axis=1)
