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
    image_path = osp.join(folder, f'composite_{width}x{height}.jpg')
    mask_path = osp.join(folder, f'mask_{width}x{height}.png')
    cv2.imwrite(image_path, image, [cv2.IMWRITE_JPEG_QUALITY, 90])
    cv2.imwrite(mask_path, cv2.GaussianBlur(mask, (0, 0), 2))
    return image_path, mask_path


def _child(model: str, image: str, mask: str, output: str, full_res: bool, threads: Optional[int]) -> dict:
    """What one measuring process does (``python -m toolkit.benchmark.harmonize_speed --child ...``)."""
    import resource
    start = time.perf_counter()
    import torch

    from toolkit.apis.harmonizer import Harmonizer, save_image
    from toolkit.apis.runtime import set_inference_threads
    set_inference_threads(threads)  # as `harmony harmonize` does: --threads, else OMP_NUM_THREADS, else 1
    harmonizer = Harmonizer.from_pretrained(model, device='cpu')
    startup = time.perf_counter() - start
    times = {}
    mark = time.perf_counter()
    composite, soft_mask = harmonizer.prepare(image, mask)
    times['read_s'] = time.perf_counter() - mark
    mark = time.perf_counter()
    lows, predicted = harmonizer._predict([(composite, soft_mask)], full_res)  # every member of an ensemble
    times['model_s'] = time.perf_counter() - mark
    mark = time.perf_counter()
    from toolkit.apis.full_res import apply_in_bands
    band = harmonizer._bands([(composite, soft_mask)], lows, predicted, full_res)[0]
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


#: the folder of the load benchmark: ten composites from 4992×3328 (HAdobe5k's largest) down to 256×256
FOLDER_SIZES = ((4992, 3328), (4368, 2912), (3000, 2000), (2048, 1536), (1024, 768), (800, 600), (640, 480),
                (512, 512), (312, 230), (256, 256))


def _harmony_command(*args: str) -> list[str]:
    return [sys.executable, '-m', 'toolkit.cli', *args]


def _environment(**extra) -> dict:
    environment = dict(os.environ, PYTHONPATH=osp.abspath(osp.join(osp.dirname(__file__), '..', '..')))
    environment.pop('OMP_NUM_THREADS', None)
    environment.update(extra)
    return environment


class BusyCores:
    """``count`` CPU-bound processes (``while True: pass``) for the duration of a ``with`` block: the load of a
    shared workstation or a CI box, made reproducible."""

    def __init__(self, count: int):
        self.count, self.processes = count, []

    def __enter__(self):
        self.processes = [subprocess.Popen([sys.executable, '-c', 'while True: pass']) for _ in range(self.count)]
        time.sleep(0.5 if self.count else 0)  # let them get scheduled
        return self

    def __exit__(self, *exc):
        for process in self.processes:
            process.kill()
            process.wait()


def time_command(command: list[str], environment: dict, runs: int = 3) -> dict:
    """Median and all wall times of ``runs`` runs of ``command`` (each must succeed)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env=environment)
        times.append(time.perf_counter() - start)
        if result.returncode:
            raise RuntimeError(f'{" ".join(command)} failed: {result.stderr.strip()[-500:]}')
    return dict(median_s=sorted(times)[len(times) // 2], runs_s=times)


def folder_under_load(model: Optional[str] = None, busy: Sequence[int] = (0, 2), runs: int = 3,
                      folder: Optional[str] = None) -> list[dict]:
    """``harmony harmonize --images --masks`` over :data:`FOLDER_SIZES` with the threads the CLI chooses and
    with ``OMP_NUM_THREADS=1``, on an idle machine and beside ``busy`` CPU-bound processes.

    Returns one row per (busy processes, thread setting) with the median wall time of ``runs`` runs (each a
    fresh process with ``--overwrite``, start-up included) and, per load, the ratio default / one thread.
    """
    rows = []
    with tempfile.TemporaryDirectory(dir=folder) as work:
        images, masks, out = (osp.join(work, name) for name in ('images', 'masks', 'out'))
        os.makedirs(images)
        os.makedirs(masks)
        for number, (width, height) in enumerate(FOLDER_SIZES):
            image, mask = synthetic_composite(work, width, height, seed=number)
            os.replace(image, osp.join(images, f'{number:02d}_{width}x{height}.jpg'))
            os.replace(mask, osp.join(masks, f'{number:02d}_{width}x{height}.png'))
        command = _harmony_command('harmonize', '--images', images, '--masks', masks, '-o', out, '--overwrite',
                                   *(['-m', model] if model else []))
        for count in busy:
            timings = {}
            with BusyCores(count):
                for setting, environment in (('default', _environment()),
                                             ('OMP_NUM_THREADS=1', _environment(OMP_NUM_THREADS='1'))):
                    timings[setting] = time_command(command, environment, runs)
            for setting, timing in timings.items():
                rows.append(dict(busy_processes=count, threads=setting, images=len(FOLDER_SIZES), **timing,
                                 ratio_to_one_thread=timing['median_s'] / timings['OMP_NUM_THREADS=1']['median_s']))
    return rows


def startup(model: Optional[str] = None, runs: int = 3, folder: Optional[str] = None) -> dict:
    """Wall time (median of ``runs``) of ``harmony --help``, ``harmony list`` and a whole ``harmony harmonize``
    call on a 256×256 composite."""
    with tempfile.TemporaryDirectory(dir=folder) as work:
        image, mask = synthetic_composite(work, 256, 256)
        environment = _environment()
        harmonize = _harmony_command('harmonize', image, mask, '-o', osp.join(work, 'o.png'), '--overwrite',
                                     *(['-m', model] if model else []))
        return dict(help_s=time_command(_harmony_command('--help'), environment, runs)['median_s'],
                    list_s=time_command(_harmony_command('list'), environment, runs)['median_s'],
                    harmonize_256_s=time_command(harmonize, environment, runs)['median_s'])


if __name__ == '__main__' and len(sys.argv) > 1 and sys.argv[1] == '--child':
    model_name, image_path, mask_path, output_path, full, thread_count = sys.argv[2:8]
    print(json.dumps(_child(model_name, image_path, mask_path, output_path, full == '1', int(thread_count) or None)))
