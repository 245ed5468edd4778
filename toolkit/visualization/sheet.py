"""Picture sheets: for each composite, ``input | mask | model 1 | … | real`` side by side, with column titles.

What users see from each model on real composites, at full resolution harmonized and then shrunk for the sheet.
"""
from __future__ import annotations

from typing import Optional, Sequence

import cv2
import numpy as np

from .grid import comparison_grid


def _fit(image: np.ndarray, height: int) -> np.ndarray:
    scale = height / image.shape[0]
    width = max(1, round(image.shape[1] * scale))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)


def _title(text: str, width: int, height: int = 22) -> np.ndarray:
    strip = np.full((height, width, 3), 255, np.uint8)
    scale = 0.45
    while scale > 0.25 and cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, 1)[0][0] > width - 4:
        scale -= 0.05
    cv2.putText(strip, text, (2, height - 7), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 1, cv2.LINE_AA)
    return strip


def picture_sheet(rows: Sequence[dict], model_names: Sequence[str], height: int = 160,
                  separator: int = 4) -> np.ndarray:
    """One row per composite: ``rows[i]`` holds ``composite``, ``mask`` ((H, W) in [0, 1]), ``outputs`` (one
    ``(H, W, 3)`` uint8 per model, same order as ``model_names``) and optionally ``real`` and ``label``.

    Returns:
        ``(N·(height + title) …, 3)`` uint8 RGB.
    """
    has_real = any(row.get('real') is not None for row in rows)
    titles = ['input', 'mask', *model_names] + (['real'] if has_real else [])
    pieces = []
    for row in rows:
        mask = np.repeat((np.clip(row['mask'], 0, 1) * 255).astype(np.uint8)[..., None], 3, axis=2)
        cells = [row['composite'], mask, *row['outputs']]
        if has_real:
            cells.append(row['real'] if row.get('real') is not None else np.full_like(row['composite'], 255))
        cells = [_fit(cell, height) for cell in cells]
        strip = comparison_grid(cells, separator)
        headers = []
        for index, (title, cell) in enumerate(zip(titles, cells)):
            headers.append(_title(title if index else f'{title}: {row.get("label", "")}', cell.shape[1]))
            if index < len(cells) - 1:
                headers.append(np.full((headers[-1].shape[0], separator, 3), 255, np.uint8))
        pieces += [np.concatenate(headers, axis=1), strip, np.full((separator, strip.shape[1], 3), 255, np.uint8)]
    width = max(piece.shape[1] for piece in pieces)
    padded = [np.pad(piece, ((0, 0), (0, width - piece.shape[1]), (0, 0)), constant_values=255) for piece in pieces]
    return np.concatenate(padded, axis=0)


def sheet_from_folder(harmonizers: dict, composites: Sequence[str], masks: Sequence[str],
                      reals: Optional[Sequence[Optional[str]]] = None, height: int = 160,
                      size: Optional[int] = None) -> np.ndarray:
    """Harmonize every composite with every harmonizer (``{name: Harmonizer}``) and lay the results out; with
    ``size``, each composite, mask and real image is first resized to ``size × size`` (as the Harmonizer resizes)."""
    from toolkit.datasets import read_image, read_mask
    from toolkit.datasets.transforms.processing import match_size, resize_image, resize_mask
    rows = []
    reals = reals or [None] * len(composites)
    for composite_path, mask_path, real_path in zip(composites, masks, reals):
        composite = read_image(composite_path, alpha='flatten')
        mask = match_size(read_mask(mask_path), composite.shape[:2], mask_path, composite_path)
        real = read_image(real_path) if real_path else None
        if size is not None:
            composite, mask = resize_image(composite, (size, size)), resize_mask(mask, (size, size))
            real = None if real is None else resize_image(real, (size, size))
        outputs = [harmonizer.harmonize(composite, mask) for harmonizer in harmonizers.values()]
        label = composite_path.replace('\\', '/').split('/')[-1].rsplit('.', 1)[0]
        rows.append(dict(composite=composite, mask=mask, outputs=outputs, real=real,
                         label=f'{label} ({composite.shape[1]}x{composite.shape[0]})'))
    return picture_sheet(rows, list(harmonizers), height)


def write_sheet(path: str, harmonizers: dict, composites: Sequence[str], masks: Sequence[str],
                reals: Optional[Sequence[Optional[str]]] = None, height: int = 160, size: Optional[int] = None) -> str:
    """:func:`sheet_from_folder` written to ``path`` (JPEG quality 85 for ``.jpg``); returns ``path``."""
    import os
    sheet = sheet_from_folder(harmonizers, composites, masks, reals, height, size)
    os.makedirs(os.path.dirname(os.path.abspath(path)) or '.', exist_ok=True)
    options = [cv2.IMWRITE_JPEG_QUALITY, 85] if path.lower().endswith(('.jpg', '.jpeg')) else []
    if not cv2.imwrite(path, cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR), options):
        raise OSError(f'{path}: could not write the picture sheet')
    return path


def short_labels(names: Sequence[str]) -> list[str]:
    """Column labels for a picture sheet: each name's first ``_`` field, with more fields where two would clash.

    >>> short_labels(['unet-s_adam-3k', 'clharmony-s_rain-s2am_adamw', 'clharmony-s_adain-s2am_adamw', 'reinhard-lab'])
    ['unet-s', 'clharmony-s_rain-s2am', 'clharmony-s_adain-s2am', 'reinhard-lab']
    """
    labels = []
    for name in names:
        fields = name.split('_')
        for count in range(1, len(fields) + 1):
            label = '_'.join(fields[:count])
            if sum(other.split('_')[:count] == fields[:count] for other in names) == 1:
                break
        labels.append(label)
    return labels
