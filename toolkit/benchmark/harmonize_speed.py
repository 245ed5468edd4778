"""Time and peak memory of ``harmony harmonize`` at full resolution, one fresh process per measurement.

Each measurement runs in its own Python process (so its peak resident memory is its own), on a synthetic
composite of the requested size written as JPEG, and reports:

* ``startup_s``: importing HarmonyZoo and building the model (what every CLI call pays once);
* ``read_s``: decoding the composite and mask and checking them;
* ``model_s``: the network at its resolution (resize + forward);
* ``full_res_s``: carrying the change to full resolution and blending (the part that grows with the image);
* ``write_s``: encoding the output (PNG);
* ``peak_rss_mb``: the process's peak resident memory, everything included (Python, torch, the images).
"""
from __future__ import annotations

import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time
from typing import Optional, Sequence

import numpy as np


def synthetic_composite(folder: str, width: int, height: int, seed: int = 0) -> tuple[str, str]:
    """A smooth random photo-like composite (JPEG) and a soft-edged elliptical mask (PNG)."""
    import cv2
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (max(2, height // 64), max(2, width // 64), 3), dtype=np.uint8)
    image = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC)
    image += rng.integers(0, 12, (1, width, 1), dtype=np.uint8)  # some fine detail (stripes), cheaply
    mask = np.zeros((height, width), np.uint8)
    cv2.ellipse(mask, (width // 2, height // 2), (width // 4, height // 3), 0, 0, 360, 255, -1)
    image_path, mask_path = osp.join(folder, f'composite_{width}x{height}.jpg'), osp.join(folder, f'mask_{width}x{height}.png')
    cv2.imwrite(image_path, image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(mask_path, cv2.GaussianBlur(mask, (0, 0), 2))
    return image_path, mask_path


def _child(model: str, image: str, mask: str, output: str, full_res: bool, threads: Optional[int]) -> dict:
    """What one measuring process does (``python -m toolkit.benchmark.harmonize_speed --child ...``)."""
    import resource
    start = time.perf_counter()
    import torch
    if threads:
        torch.set_num_threads(threads)
    from toolkit.apis.harmonizer import Harmonizer, save_image
    harmonizer = Harmonizer.from_pretrained(model, device='cpu')
    startup = time.perf_counter() - start
    times = {}
    mark = time.perf_counter()
    composite, soft_mask = harmonizer.prepare(image, mask)
    times['read_s'] = time.perf_counter() - mark
    mark = time.perf_counter()
    low_composite, low_mask = harmonizer._low_resolution(composite, soft_mask)
    prediction, mapping = harmonizer._run_model([low_composite], [low_mask], full_res)
    times['model_s'] = time.perf_counter() - mark
    mark = time.perf_counter()
    from toolkit.apis.full_res import apply_in_bands
    band = harmonizer._band_function(composite, low_composite, low_mask, prediction[0],
                                     None if mapping is None else mapping.select(0), full_res)
    output_image = apply_in_bands(composite, soft_mask, band, out=composite)
    times['full_res_s'] = time.perf_counter() - mark
    mark = time.perf_counter()
    save_image(output, output_image, in_place=True)
    times['write_s'] = time.perf_counter() - mark
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return dict(startup_s=startup, **times, peak_rss_mb=peak_kb / 1024.0, threads=torch.get_num_threads())


def measure(model: str, sizes: Sequence[tuple[int, int]], full_res: bool = True, threads: Optional[int] = None,
            folder: Optional[str] = None) -> list[dict]:
    """One fresh process per size; returns a row per size with the timings above and ``megapixels``."""
    rows = []
    with tempfile.TemporaryDirectory(dir=folder) as work:
        for width, height in sizes:
            image, mask = synthetic_composite(work, width, height)
            command = [sys.executable, '-m', 'toolkit.benchmark.harmonize_speed', '--child', model, image, mask,
                       osp.join(work, f'out_{width}x{height}.png'), '1' if full_res else '0', str(threads or 0)]
            environment = dict(os.environ, PYTHONPATH=osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
            result = subprocess.run(command, capture_output=True, text=True, env=environment)
            if result.returncode:
                raise RuntimeError(f'{model} at {width}x{height} failed: {result.stderr.strip().splitlines()[-1:]}')
            row = json.loads(result.stdout.strip().splitlines()[-1])
            row.update(model=model, width=width, height=height, megapixels=width * height / 1e6, full_res=full_res)
            rows.append(row)
            os.remove(image)
    return rows


if __name__ == '__main__' and len(sys.argv) > 1 and sys.argv[1] == '--child':
    model_name, image_path, mask_path, output_path, full, thread_count = sys.argv[2:8]
    print(json.dumps(_child(model_name, image_path, mask_path, output_path, full == '1', int(thread_count) or None)))
