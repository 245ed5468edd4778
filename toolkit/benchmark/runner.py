"""``tools/benchmark.py``: evaluate models, measure them, write the leaderboard files."""
from __future__ import annotations

import importlib
import json
import math
import os
import os.path as osp
import subprocess
from typing import Callable, Optional, Sequence

import mmengine
import torch
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

import toolkit.benchmark.report as report
from toolkit.metrics import get_profile, summarize
from toolkit.version import __version__

from .efficiency import device_description, machine_matmul_flops, measure_efficiency
from .models import REPO_ROOT, build_model, check_scorable, resolve_model
from .quality import build_dataset, dataset_digest, evaluate_quality

SCHEMA = 'harmonyzoo-leaderboard/1'


def _git(*args) -> Optional[str]:
    try:
        return subprocess.run(['git', '-C', REPO_ROOT, *args], capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    except Exception:
        return None


def _version(module_name: str) -> Optional[str]:
    try:
        return importlib.import_module(module_name).__version__
    except Exception:  # noqa: BLE001  (not installed, or no version attribute)
        return None


def provenance() -> dict:
    """Where a leaderboard's numbers come from: the code (commit, and whether the tree differs from it, untracked
    files included), the metric code version and the libraries that compute or decode anything."""
    from .quality import metric_code_version
    commit = _git('rev-parse', 'HEAD')
    status = _git('status', '--porcelain', '--untracked-files=normal')
    return dict(toolkit_version=__version__, git_commit=commit, git_dirty=bool(status) if status is not None else None,
                metric_code=metric_code_version(), torch=torch.__version__, mmengine=mmengine.__version__,
                mmcv=_version('mmcv'), numpy=_version('numpy'), opencv=_version('cv2'),
                scikit_image=_version('skimage'), pillow=_version('PIL'))


def pick_device(device: str = 'auto') -> str:
    if device == 'auto':
        return 'cuda' if torch.cuda.is_available() else 'cpu'
    if device.startswith('cuda') and not torch.cuda.is_available():
        raise RuntimeError(f'--device {device} requested but CUDA is not available')
    return device


def run_benchmark(models: Sequence[str], data_root: Optional[str], out_dir: str, subsets=None, resolution: int = 256,
                  profile='toolkit', cache_dir: Optional[str] = None, device: str = 'auto', batch_size: int = 8,
                  num_workers: int = 0, quality: bool = True, efficiency: bool = True,
                  flops_resolutions: Sequence[int] = (256, 1024), latency_batches: Sequence[int] = (1, 8),
                  warmup: int = 3, repeats: int = 10, max_images: Optional[int] = None,
                  compare_with: Optional[str] = None, console: Optional[Console] = None,
                  references: Optional[str] = None, reference_runs: int = 5,
                  reference_composites: str = 'with-references', interrupt_after_batches: Optional[int] = None) -> dict:
    """Run the leaderboard and write ``leaderboard.{json,csv,md,png}`` to ``out_dir``; returns the JSON dict.

    Args:
        models: ``CONFIG[:CHECKPOINT]`` or config names (see :func:`~toolkit.benchmark.models.resolve_model`).
        data_root: iHarmony4-layout root (required with ``quality``).
        cache_dir: per-image results (default ``<out_dir>/cache``); reused across runs and models.
        references: a RAHarmony4 JSONL (relative to ``data_root`` or absolute): evaluate reference-based
            models as the Raiha paper does, one reference drawn at random per composite, ``reference_runs``
            seeded runs, mean (and std in ``quality_std``) over runs. Batches are of one image, since
            composites may have no reference.
        reference_composites: with ``references``: ``'with-references'`` (the RAHarmony4 protocol: only the
            composites whose list is not empty, the paper's 2,248) or ``'all'`` listed composites.
        interrupt_after_batches: raise ``KeyboardInterrupt`` after this many evaluated batches (tests
            use it to check that a resumed run reproduces an uninterrupted one).
    """
    # tables are wide: give a non-interactive console (logs, CI) room for them
    console = console or Console(width=None if Console().is_terminal else 150)
    device = pick_device(device)
    profile = get_profile(profile)
    os.makedirs(out_dir, exist_ok=True)
    cache_dir = cache_dir or osp.join(out_dir, 'cache')
    previous = None
    if compare_with:  # read before this run may overwrite the same file
        with open(compare_with, encoding='utf-8') as handle:
            previous = json.load(handle)
    specs = [resolve_model(argument) for argument in models]
    names = [spec.name for spec in specs]
    if len(set(names)) != len(names):
        raise ValueError(f'two models would share a leaderboard row name: {names}')

    result = dict(schema=SCHEMA, provenance=provenance(), profile=profile.to_dict(), dataset=None, input=None,
                  machine=None, models=[])
    if efficiency:
        result['machine'] = dict(device=device_description(device), matmul=machine_matmul_flops(device))
    dataset = None
    if quality:
        if not data_root:
            raise ValueError('quality evaluation needs --data-root (an iHarmony4-layout dataset)')
        seeds = range(reference_runs) if references else [0]
        datasets = [build_dataset(data_root, resolution, subsets, references=references, seed=seed, profile=profile,
                                  reference_composites=reference_composites) for seed in seeds]
        dataset = datasets[0]
        count = len(dataset) if max_images is None else min(max_images, len(dataset))
        result['dataset'] = dict(data_root=osp.abspath(data_root), split='test', resolution=resolution,
                                 subsets=list(dataset.metainfo['subsets']), num_images=count,
                                 identity=dataset.cache_identity(), files_sha256=dataset_digest(dataset, cache_dir))
        if references:
            result['dataset'].update(references=references, reference_runs=reference_runs,
                                     reference_choice='random, one per composite, seeds 0..N-1',
                                     reference_composites=reference_composites)
            batch_size = 1
    else:
        result['dataset'] = dict(data_root=None, split=None, resolution=resolution, subsets=[], num_images=0)

    batches = dict(count=0)
    input_records: list = []  # the input composite's per-image values, to count the images a model makes worse

    def run_quality(spec, model, label, dataset):
        with Progress(TextColumn('{task.description}'), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                      console=console, transient=True) as progress:
            task = progress.add_task(label, total=result['dataset']['num_images'])

            def advance(done):
                progress.advance(task, done)
                batches['count'] += 1
                if interrupt_after_batches is not None and batches['count'] > interrupt_after_batches:
                    raise KeyboardInterrupt('interrupted on request')

            records = evaluate_quality(spec, dataset, profile, cache_dir, resolution, model=model, device=device,
                                       batch_size=batch_size, num_workers=num_workers, max_images=max_images,
                                       on_batch=advance)
        summary = summarize(records, result['dataset']['subsets'])
        if spec is None:
            input_records[:] = records
        elif input_records:
            summary['worse_than_input'] = count_worse_than_input(records, input_records)
            summary['input_error_bins'] = by_input_error(records, input_records)
        return summary

    def run_quality_over_seeds(spec, model):
        summaries = [run_quality(spec, model, spec.name if len(datasets) == 1 else f'{spec.name} (run {seed + 1})',
                                 data) for seed, data in enumerate(datasets)]
        return mean_and_std(summaries)

    if quality:
        result['input'] = run_quality(None, None, INPUT_LABEL, datasets[0])
    for spec in specs:
        model = build_model(spec, device)
        if quality:
            check_scorable(spec, model)
        entry = dict(name=spec.name, config=osp.relpath(spec.config, REPO_ROOT), checkpoint=spec.checkpoint,
                     checkpoint_sha256=spec.checkpoint_sha256, config_hash=spec.config_hash)
        if quality:
            entry['quality'], spread = run_quality_over_seeds(spec, model)
            if spread is not None:
                entry['quality_std'] = spread
        if efficiency:
            with console.status(f'measuring {spec.name}'):
                entry['efficiency'] = measure_efficiency(
                    model, device, flops_resolutions, latency_batches, resolution, warmup, repeats,
                    result['machine']['matmul']['flops_per_s'])
        result['models'].append(entry)
        del model

    files = write_outputs(result, out_dir)
    if quality:
        console.print(report.quality_table(result))
    if efficiency:
        console.print(report.efficiency_table(result))
    if previous is not None:
        result_deltas = report.compare(result, previous)
        console.print(report.compare_table(result_deltas, compare_with))
    console.print('wrote ' + ', '.join(files))
    return result


INPUT_LABEL = report.INPUT_ROW


def count_worse_than_input(records: Sequence[dict], input_records: Sequence[dict],
                           metrics: Sequence[str] = ('MSE', 'fMSE')) -> dict:
    """How many images a model leaves with a larger error than the untouched composite had.

    Pooled means hide a model that fixes most images and damages a few; this is the count a user meets. Images are
    matched by name; an image with no finite value on either side is not counted.

    Returns:
        ``dict(N=images compared, MSE=count, fMSE=count)``.
    """
    before = {record['name']: record for record in input_records}
    pairs = [(record, before[record['name']]) for record in records if record['name'] in before]
    counts = dict(N=len(pairs))
    for metric in metrics:
        counts[metric] = sum(1 for after, composite in pairs
                             if math.isfinite(after[metric]) and math.isfinite(composite[metric])
                             and after[metric] > composite[metric])
    return counts


#: upper edges of the input-error bins (the composite's own fMSE): leaving alone a composite that already fits (low
#: error) and moving far one that is far off (high error) are different skills; a pooled mean mixes them
INPUT_ERROR_EDGES = (100.0, 300.0, 1000.0, 3000.0)


def input_error_label(low: float, high: float) -> str:
    return f'{low:g}-{high:g}' if math.isfinite(high) else f'{low:g}+'


def group_by_input_error(items: Sequence, input_fmse: Callable, edges: Sequence[float] = INPUT_ERROR_EDGES) -> dict:
    """``{label: [items whose input fMSE is in [low, high)]}`` for the bins ``0, *edges, ∞``, in bin order (empty
    bins included); ``input_fmse(item)`` reads an item's input fMSE."""
    bounds = [0.0, *edges, math.inf]
    return {input_error_label(low, high): [item for item in items if low <= input_fmse(item) < high]
            for low, high in zip(bounds, bounds[1:])}


def by_input_error(records: Sequence[dict], input_records: Sequence[dict],
                   edges: Sequence[float] = INPUT_ERROR_EDGES) -> dict:
    """A model's fMSE grouped by how far off the untouched composite was (its own fMSE).

    Per bin ``[low, high)`` of the input's fMSE: ``N`` images, the input's mean fMSE there, the model's mean fMSE
    there and how many of them the model made worse. Images are matched by name; non-finite values are skipped.

    Returns:
        ``{label: dict(N=…, input_fMSE=…, fMSE=…, worse=…)}`` in bin order (``N=0`` and nothing else when empty).
    """
    before = {record['name']: record['fMSE'] for record in input_records}
    pairs = [(before[record['name']], record['fMSE']) for record in records
             if record['name'] in before and math.isfinite(before[record['name']]) and math.isfinite(record['fMSE'])]
    bins = {}
    for label, members in group_by_input_error(pairs, lambda pair: pair[0], edges).items():
        row = dict(N=len(members))
        if members:
            row.update(input_fMSE=sum(c for c, _ in members) / len(members),
                       fMSE=sum(a for _, a in members) / len(members), worse=sum(1 for c, a in members if a > c))
        bins[label] = row
    return bins


def _metric_rows(summary: dict) -> list[dict]:
    """The numeric rows of a :func:`summarize` result in a fixed order: subsets, fg bins, worse-than-input,
    input-error bins."""
    rows = [summary[group][row_name] for group in ('subsets', 'fg_bins') for row_name in summary[group]]
    rows += [summary['worse_than_input']] if 'worse_than_input' in summary else []
    return rows + list(summary.get('input_error_bins', {}).values())


def mean_and_std(summaries: list[dict]) -> tuple[dict, Optional[dict]]:
    """Element-wise mean (and population std when there are several) of :func:`summarize` results, including the
    counts of images made worse than the input (mean count over the seeded runs); ``N`` is kept as is."""
    if len(summaries) == 1:
        return summaries[0], None
    mean, std = json.loads(json.dumps(summaries[0])), json.loads(json.dumps(summaries[0]))
    runs = [_metric_rows(summary) for summary in summaries]
    for position, (mean_row, std_row) in enumerate(zip(_metric_rows(mean), _metric_rows(std))):
        for key in mean_row:
            if key == 'N':
                continue
            values = [rows[position][key] for rows in runs]
            average = sum(values) / len(values)
            mean_row[key] = average
            std_row[key] = (sum((v - average) ** 2 for v in values) / len(values)) ** 0.5
    return mean, std


def write_outputs(result: dict, out_dir: str) -> list[str]:
    files = [osp.join(out_dir, 'leaderboard.json')]
    report.write_json(result, files[0])
    if result.get('input') or any(model.get('quality') for model in result['models']):
        files += report.write_csv(result, osp.join(out_dir, 'leaderboard.csv'))
    markdown = osp.join(out_dir, 'leaderboard.md')
    with open(markdown, 'w', encoding='utf-8') as handle:
        handle.write(report.to_markdown(result))
    files.append(markdown)
    plot = report.write_plot(result, osp.join(out_dir, 'leaderboard.png'))
    if plot:
        files.append(plot)
    return files
