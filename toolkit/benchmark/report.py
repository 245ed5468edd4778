"""Leaderboard outputs: rich tables, JSON (canonical), CSV, Markdown, a quality-vs-latency PNG, and deltas."""
from __future__ import annotations

import csv
import json
import math
import os.path as osp
from typing import Optional, Sequence

from rich.table import Table

from toolkit.metrics import METRIC_NAMES

FORMATS = dict(MSE='{:.2f}', fMSE='{:.2f}', PSNR='{:.2f}', fPSNR='{:.2f}', SSIM='{:.4f}', fSSIM='{:.4f}')
INPUT_ROW = 'input composite'


def _cell(value, fmt='{:.2f}') -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return '–'
    return fmt.format(value)


def quality_rows(result: dict) -> list[tuple[str, dict]]:
    """``(name, quality summary)``: the input composite first, then models by pooled PSNR, best first."""
    rows = [(model['name'], model['quality']) for model in result['models'] if model.get('quality')]
    rows.sort(key=lambda row: -row[1]['subsets']['All']['PSNR'])
    if result.get('input'):
        rows.insert(0, (INPUT_ROW, result['input']))
    return rows


def worse_cell(quality: dict, metrics: tuple = ('fMSE',)) -> str:
    """``k/N`` per metric (joined by `` / ``): images the model leaves with a larger error than the input composite
    ('–' for the input row)."""
    counts = quality.get('worse_than_input')
    if not counts:
        return '–'
    return ' / '.join(f'{counts[metric]:g}/{counts["N"]}' for metric in metrics)


def _latency(model: dict, batch: int) -> Optional[dict]:
    for row in (model.get('efficiency') or {}).get('latency', []):
        if row['batch'] == batch:
            return row
    return None


def _gflops(model: dict, resolution: int) -> str:
    entry = (model.get('efficiency') or {}).get('flops', {}).get(str(resolution))
    if not entry:
        return '–'
    if 'error' in entry:
        return 'n/a'
    return f'{entry["flops"] / 1e9:.2f}'


def quality_table(result: dict) -> Table:
    dataset = result['dataset']
    table = Table(title=f'quality: {dataset["num_images"]} images of {dataset["data_root"]} at '
                        f'{dataset["resolution"]}px, profile {result["profile"]["name"]} (all images pooled)',
                  title_justify='left')
    for column in ('model', 'N', *METRIC_NAMES, 'worse fMSE'):
        table.add_column(column, justify='left' if column == 'model' else 'right')
    for name, quality in quality_rows(result):
        row = quality['subsets']['All']
        table.add_row(name, str(row['N']), *(_cell(row[m], FORMATS[m]) for m in METRIC_NAMES), worse_cell(quality),
                      style='dim' if name == INPUT_ROW else None)
    return table


def efficiency_header(result: dict) -> str:
    machine = result.get('machine', {})
    device = machine.get('device', {})
    where = device.get('gpu') or device.get('cpu', '?')
    matmul = machine.get('matmul', {})
    rate = f'{matmul["flops_per_s"] / 1e9:.1f} GFLOP/s' if matmul else '?'
    return (f'{device.get("device", "?")} ({where}), {device.get("threads", "?")} threads, torch '
            f'{device.get("torch", "?")}; measured float32 matmul {matmul.get("size", "?")}²: {rate}')


def efficiency_table(result: dict) -> Table:
    table = Table(title='efficiency: ' + efficiency_header(result), title_justify='left')
    columns = ('model', 'params (M)', 'GMACs@256', 'GMACs@1024', 'bs1 ms', 'bs8 ms', 'bs8 img/s', 'peak MB',
               '% matmul')
    for column in columns:
        table.add_column(column, justify='left' if column == 'model' else 'right')
    for model in result['models']:
        if not model.get('efficiency'):
            continue
        one, eight = _latency(model, 1), _latency(model, 8)
        largest = max(model['efficiency']['latency'], key=lambda row: row['batch'], default=None)
        fraction = (largest or {}).get('fraction_of_matmul')
        table.add_row(model['name'], f'{model["efficiency"]["params"] / 1e6:.3f}', _gflops(model, 256),
                      _gflops(model, 1024),
                      f'{one["mean_ms"]:.1f} ± {one["std_ms"]:.1f}' if one else '–',
                      f'{eight["mean_ms"]:.1f} ± {eight["std_ms"]:.1f}' if eight else '–',
                      f'{eight["throughput"]:.1f}' if eight else '–',
                      _cell((largest or {}).get('peak_memory_mb'), '{:.0f}'),
                      f'{100 * fraction:.1f}%' if fraction else '–')
    return table


def read_json(path: str, required: Sequence[str], what: str) -> dict:
    """A tool's ``--out`` JSON, checked to be an object holding ``required`` keys.

    Raises:
        ValueError: one line naming ``path``: unreadable, not JSON, or not ``what`` (the keys are missing).
    """
    try:
        with open(path, encoding='utf-8') as handle:
            result = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f'{path}: cannot read it as JSON ({error.__class__.__name__})') from None
    if not isinstance(result, dict) or not all(key in result for key in required):
        raise ValueError(f'{path}: not {what} (no {" or ".join(required)})')
    return result


def write_json(result: dict, path: str) -> None:
    with open(path, 'w', encoding='utf-8') as handle:
        json.dump(result, handle, indent=2, sort_keys=False, allow_nan=True)
        handle.write('\n')


def write_csv(result: dict, path: str) -> list[str]:
    """Quality rows to ``path``; efficiency rows to ``<stem>_efficiency.csv``. Returns the files written."""
    with open(path, 'w', newline='', encoding='utf-8') as handle:
        writer = csv.writer(handle)
        writer.writerow(['model', 'group', 'row', 'N', *METRIC_NAMES])
        for name, quality in quality_rows(result):
            for group in ('subsets', 'fg_bins'):
                for row_name, row in quality[group].items():
                    writer.writerow([name, group, row_name, row['N'], *(row.get(m, '') for m in METRIC_NAMES)])
    written = [path]
    if any(model.get('efficiency') for model in result['models']):
        efficiency_path = osp.splitext(path)[0] + '_efficiency.csv'
        with open(efficiency_path, 'w', newline='', encoding='utf-8') as handle:
            writer = csv.writer(handle)
            writer.writerow(['model', 'params', 'macs_256', 'macs_1024', 'batch', 'resolution', 'latency_mean_ms',
                             'latency_std_ms', 'throughput_img_s', 'peak_memory_mb', 'memory_kind',
                             'achieved_flops_per_s', 'fraction_of_matmul'])
            for model in result['models']:
                efficiency = model.get('efficiency')
                if not efficiency:
                    continue
                macs = [efficiency['flops'].get(r, {}).get('flops', '') for r in ('256', '1024')]
                for row in efficiency['latency']:
                    writer.writerow([model['name'], efficiency['params'], *macs, row['batch'], row['resolution'],
                                     row['mean_ms'], row['std_ms'], row['throughput'], row['peak_memory_mb'],
                                     row['memory_kind'], row.get('achieved_flops_per_s', ''),
                                     row.get('fraction_of_matmul', '')])
        written.append(efficiency_path)
    return written


def to_markdown(result: dict) -> str:
    dataset, profile = result['dataset'], result['profile']
    lines = ['# Harmonization leaderboard', '',
             f'{dataset["num_images"]} test images of `{dataset["data_root"]}` (subsets: '
             f'{", ".join(dataset["subsets"])}) at {dataset["resolution"]}×{dataset["resolution"]}, metric profile '
             f'`{profile["name"]}`. Overall rows pool every image.', '']
    rows = quality_rows(result)
    spreads = {model['name']: model['quality_std'] for model in result['models'] if model.get('quality_std')}
    if dataset.get('references'):
        which = ('the composites that have references (RAHarmony4 protocol)'
                 if dataset.get('reference_composites', 'with-references') == 'with-references'
                 else 'every listed composite (those without references run without)')
        lines += [f'Reference-based evaluation on {dataset["num_images"]} composites, {which}: references from '
                  f'`{dataset["references"]}`, one drawn at random per composite, mean ± std over '
                  f'{dataset["reference_runs"]} seeded runs. Not comparable with results on the full test split.', '']
    if rows:
        lines += ['## Quality', '', '| model | N | ' + ' | '.join(METRIC_NAMES) + ' | worse than input (fMSE / MSE) |',
                  '|---|---:|' + '---:|' * (len(METRIC_NAMES) + 1)]
        for name, quality in rows:
            row = quality['subsets']['All']
            spread = spreads.get(name, {}).get('subsets', {}).get('All', {})
            cells = [_cell(row[m], FORMATS[m]) + (f' ± {FORMATS[m].format(spread[m])}' if m in spread else '')
                     for m in METRIC_NAMES]
            worse = worse_cell(quality, ('fMSE', 'MSE'))
            lines.append(f'| {name} | {row["N"]} | ' + ' | '.join(cells) + f' | {worse} |')
        lines += ['', 'Worse than input: images whose error the model raises above the untouched composite\'s '
                      '(a pooled mean can hide a model that damages a few images).']
        subsets = [s for s in rows[0][1]['subsets'] if s != 'All']
        lines += ['', '### Per subset (PSNR / MSE)', '', '| model | ' + ' | '.join(subsets) + ' | All |',
                  '|---|' + '---:|' * (len(subsets) + 1)]
        for name, quality in rows:
            cells = [f'{_cell(quality["subsets"][s]["PSNR"])} / {_cell(quality["subsets"][s]["MSE"])}'
                     for s in subsets + ['All']]
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        bins = list(rows[0][1]['fg_bins'])
        lines += ['', '### Foreground-ratio bins (fMSE, N)', '', '| model | ' + ' | '.join(bins) + ' |',
                  '|---|' + '---:|' * len(bins)]
        for name, quality in rows:
            cells = [f'{_cell(quality["fg_bins"][b].get("fMSE"))} ({quality["fg_bins"][b]["N"]})' for b in bins]
            lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
        error_rows = [(name, quality['input_error_bins']) for name, quality in rows if quality.get('input_error_bins')]
        if error_rows:
            labels = list(error_rows[0][1])
            first = error_rows[0][1]
            lines += ['', '### By how far off the composite was (bins of the input\'s own fMSE): fMSE (worse / N)', '',
                      '| model | ' + ' | '.join(labels) + ' |', '|---|' + '---:|' * len(labels),
                      f'| {INPUT_ROW} | ' + ' | '.join(f'{_cell(first[b].get("input_fMSE"))} ({first[b]["N"]})'
                                                     for b in labels) + ' |']
            for name, error_bins in error_rows:
                cells = [f'{_cell(error_bins[b].get("fMSE"))} ({_cell(error_bins[b].get("worse"), "{:g}")} / '
                         f'{error_bins[b]["N"]})' for b in labels]
                lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
            lines += ['', 'A model that leaves fitting composites alone keeps the left columns near the input\'s; one '
                          'that moves every composite by about the same amount is worse there and too timid on the '
                          'right.']
    if any(model.get('efficiency') for model in result['models']):
        lines += ['', '## Efficiency', '', efficiency_header(result), '',
                  '| model | params (M) | GMACs@256 | GMACs@1024 | latency bs1 (ms) | latency bs8 (ms) | '
                  'throughput bs8 (img/s) | peak memory (MB) | achieved / matmul |',
                  '|---|---:|---:|---:|---:|---:|---:|---:|---:|']
        for model in result['models']:
            if not model.get('efficiency'):
                continue
            one, eight = _latency(model, 1), _latency(model, 8)
            largest = max(model['efficiency']['latency'], key=lambda row: row['batch'])
            fraction = largest.get('fraction_of_matmul')
            lines.append(
                f'| {model["name"]} | {model["efficiency"]["params"] / 1e6:.3f} | {_gflops(model, 256)} | '
                f'{_gflops(model, 1024)} | ' + (f'{one["mean_ms"]:.1f} ± {one["std_ms"]:.1f}' if one else '–') + ' | '
                + (f'{eight["mean_ms"]:.1f} ± {eight["std_ms"]:.1f}' if eight else '–') + ' | '
                + (f'{eight["throughput"]:.1f}' if eight else '–')
                + f' | {_cell(largest["peak_memory_mb"], "{:.0f}")} | '
                + (f'{100 * fraction:.1f}%' if fraction else '–') + ' |')
        lines += ['', 'GMACs: multiply-accumulates counted by MMEngine\'s FlopAnalyzer (convolutions, matmuls, '
                      'norms); element-wise ops and NumPy code are not counted (see the JSON for each model\'s '
                      'uncounted operators); n/a = not traceable. Achieved / matmul = 2·MACs·batch/latency over '
                      'the measured float32 matmul rate, at the largest batch.']
    provenance = result['provenance']
    lines += ['', '## Definitions and provenance', '', profile['definition'], '',
              f'toolkit {provenance["toolkit_version"]}, commit {provenance.get("git_commit") or "unknown"}'
              + (' (uncommitted changes)' if provenance.get('git_dirty') else '')
              + f', torch {provenance["torch"]}, mmengine {provenance["mmengine"]}.', '']
    return '\n'.join(lines)


def write_plot(result: dict, path: str) -> Optional[str]:
    """PSNR (all images) against batch-1 latency, one point per model; None when either is missing."""
    points = []
    for model in result['models']:
        latency = _latency(model, 1)
        if latency and model.get('quality'):
            points.append((model['name'], latency['mean_ms'], model['quality']['subsets']['All']['PSNR']))
    if not points:
        return None
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter, NullFormatter
    figure, axis = plt.subplots(figsize=(7, 4.5), dpi=120)
    for name, latency, psnr in points:
        axis.scatter(latency, psnr, s=40)
        axis.annotate(name, (latency, psnr), textcoords='offset points', xytext=(5, 4), fontsize=8)
    if result.get('input'):
        axis.axhline(result['input']['subsets']['All']['PSNR'], linestyle='--', color='grey', linewidth=1,
                     label=INPUT_ROW)
        axis.legend(loc='best', fontsize=8)
    axis.set_xscale('log')
    axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f'{value:g}'))
    axis.xaxis.set_minor_formatter(NullFormatter())
    axis.margins(x=0.2, y=0.12)
    axis.set_xlabel(f'latency, batch 1 at {result["dataset"]["resolution"]}px (ms, log scale) — '
                    f'{result["machine"]["device"]["device"]}')
    axis.set_ylabel(f'PSNR (dB), all images, profile {result["profile"]["name"]}')
    axis.set_title('quality vs latency')
    axis.grid(True, which='both', alpha=0.3)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


def compare(result: dict, old: dict) -> list[dict]:
    """Deltas (new − old) of the pooled quality and batch-1 latency for models present in both."""
    old_models = {model['name']: model for model in old.get('models', [])}
    deltas = []
    for model in result['models']:
        previous = old_models.get(model['name'])
        if previous is None:
            continue
        delta = dict(model=model['name'])
        if model.get('quality') and previous.get('quality'):
            new_row, old_row = model['quality']['subsets']['All'], previous['quality']['subsets']['All']
            delta.update({name: new_row[name] - old_row[name] for name in METRIC_NAMES})
        new_latency, old_latency = _latency(model, 1), _latency(previous, 1)
        if new_latency and old_latency:
            delta['latency_bs1_ms'] = new_latency['mean_ms'] - old_latency['mean_ms']
        deltas.append(delta)
    return deltas


def compare_table(deltas: list[dict], old_path: str) -> Table:
    table = Table(title=f'change against {old_path} (new − old)', title_justify='left')
    for column in ('model', *METRIC_NAMES, 'bs1 ms'):
        table.add_column(column, justify='left' if column == 'model' else 'right')
    for delta in deltas:
        cells = [f'{delta[m]:+.4f}' if m in delta else '–' for m in METRIC_NAMES]
        latency = f'{delta["latency_bs1_ms"]:+.1f}' if 'latency_bs1_ms' in delta else '–'
        table.add_row(delta['model'], *cells, latency)
    return table
