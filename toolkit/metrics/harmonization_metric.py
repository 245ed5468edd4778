"""MMEngine metric reporting MSE, fMSE, PSNR, fPSNR, SSIM and fSSIM per subset, pooled, and per foreground-ratio bin."""
from __future__ import annotations

import json
import math
import os
import os.path as osp
from collections import OrderedDict
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

import toolkit.metrics.functional as MF
from toolkit.datasets.transforms.processing import resize_image, resize_mask
from toolkit.registry import METRICS

from .profiles import MetricProfile, get_profile

METRIC_NAMES = ('MSE', 'fMSE', 'PSNR', 'fPSNR', 'SSIM', 'fSSIM')
#: Foreground-ratio bins of the field: [low, high) fractions of the image area.
DEFAULT_FG_BINS = ((0.0, 0.05), (0.05, 0.15), (0.15, 1.0))


def _to_hwc_numpy(image) -> np.ndarray:
    array = image.detach().cpu().numpy() if isinstance(image, torch.Tensor) else np.asarray(image)
    return np.ascontiguousarray(array.transpose(1, 2, 0)) if array.ndim == 3 else array


def prepare_for_profile(pred, target, mask, profile: MetricProfile):
    """Bring one image triple to the profile's resolution and value conventions.

    Args:
        pred: ``(3, H, W)`` prediction on 0–255 (float or uint8).
        target: ``(3, H', W')`` target on 0–255.
        mask: ``(1, H', W')`` or ``(H', W')`` soft or binary mask in [0, 1].

    Returns:
        float64 tensors ``pred (3, h, w)``, ``target (3, h, w)``, ``weights (1, h, w)``.
    """
    pred_np = _to_hwc_numpy(pred).astype(np.float64)  # float predictions (quantize=False) keep their digits
    target_np = _to_hwc_numpy(target)
    mask_np = _to_hwc_numpy(mask).astype(np.float32)
    mask_np = mask_np[..., 0] if mask_np.ndim == 3 else mask_np
    if target_np.shape[:2] != mask_np.shape[:2]:
        raise ValueError(f'mask {mask_np.shape[:2]} and target {target_np.shape[:2]} differ in size')
    size = profile.resolution or target_np.shape[:2]
    if pred_np.shape[:2] != tuple(size):
        pred_np = resize_image(pred_np, size, profile.image_interpolation)
    if target_np.shape[:2] != tuple(size):
        target_np = resize_image(target_np, size, profile.image_interpolation)
    if mask_np.shape[:2] != tuple(size):
        mask_np = resize_mask(mask_np, size, profile.mask_interpolation)
    pred_np = np.clip(pred_np, 0.0, 255.0)
    if profile.quantize:
        pred_np = np.round(pred_np)
    weights = mask_np if profile.mask_threshold is None else (mask_np > profile.mask_threshold)

    def to_chw(array):
        return torch.from_numpy(np.ascontiguousarray(array, dtype=np.float64).transpose(2, 0, 1))

    return to_chw(pred_np), to_chw(target_np.astype(np.float64)), torch.from_numpy(
        np.asarray(weights, dtype=np.float64))[None]


def native_image_metrics(pred, target, mask, profile: Union[str, dict, MetricProfile, None] = None,
                         band_rows: int = 32) -> dict:
    """The six metrics of one image at its own size, in bounded memory (row bands, see
    :func:`~toolkit.metrics.functional.banded_sums`); the same values as :func:`compute_image_metrics` with a
    ``resolution=None`` profile.

    Args:
        pred, target: ``(H, W, 3)`` arrays on 0–255 (uint8 or float); mask: ``(H, W)`` in [0, 1] (or uint8 0–255).
    """
    profile = get_profile(profile)
    if profile.resolution is not None:
        raise ValueError(f'native_image_metrics needs a profile without a resolution; {profile.name} has '
                         f'{profile.resolution}')
    if profile.fmse_definition != 'foreground' or profile.mse_definition != 'image' or isinstance(profile.psnr_peak,
                                                                                                 str):
        raise ValueError(f'native_image_metrics supports the default definitions (profile {profile.name} differs)')
    pred = np.asarray(pred)
    if profile.quantize and pred.dtype != np.uint8:
        pred = np.round(np.clip(pred, 0, 255))
    weights = np.asarray(mask, dtype=np.float32) / (255.0 if np.asarray(mask).dtype == np.uint8 else 1.0)
    if profile.mask_threshold is not None:
        weights = (weights > profile.mask_threshold).astype(np.float32)
    sums = MF.banded_sums(pred, target, weights, profile.ssim_data_range, band_rows)
    peak = float(profile.psnr_peak)
    mse_value = sums['squared'] / (3 * sums['pixels'])
    area = sums['weight']
    fmse_value = sums['weighted_squared'] / (3 * area + profile.fmse_epsilon) if area > 0 else float('nan')
    def psnr(value):
        return float(MF.psnr_from_mse(torch.tensor(value, dtype=torch.float64), peak, profile.psnr_epsilon))

    return dict(MSE=mse_value, fMSE=fmse_value, PSNR=psnr(mse_value),
                fPSNR=psnr(fmse_value) if area > 0 else float('nan'),
                SSIM=sums['ssim'] / sums['ssim_count'] if sums['ssim_count'] else float('nan'),
                fSSIM=sums['weighted_ssim'] / area if area > 0 else float('nan'), fg_ratio=area / sums['pixels'])


def compute_image_metrics(pred, target, mask, profile: Union[str, dict, MetricProfile, None] = None) -> dict:
    """All six metrics and the foreground ratio of one image under ``profile``.

    Example:
        >>> import torch
        >>> target = torch.full((3, 256, 256), 100, dtype=torch.uint8)
        >>> pred = target.float(); pred[:, :128] += 10   # error only in the top half
        >>> mask = torch.zeros(1, 256, 256); mask[:, :128] = 1
        >>> values = compute_image_metrics(pred, target, mask)
        >>> values['MSE'], values['fMSE'], values['fg_ratio']
        (50.0, 100.0, 0.5)
    """
    profile = get_profile(profile)
    pred_t, target_t, weights = prepare_for_profile(pred, target, mask, profile)
    peak = MF.peak_signal(target_t, profile.psnr_peak)[0]
    mse_value = MF.mse(pred_t, target_t, weights if profile.mse_definition == 'masked' else None)
    fmse_value = MF.foreground_mse(pred_t, target_t, weights, profile.fmse_definition, profile.fmse_epsilon)
    return dict(
        MSE=float(mse_value),
        fMSE=float(fmse_value),
        PSNR=float(MF.psnr_from_mse(mse_value, peak, profile.psnr_epsilon)),
        fPSNR=(float(MF.psnr_from_mse(fmse_value, peak, profile.psnr_epsilon)) if not math.isnan(fmse_value)
               else float('nan')),
        SSIM=float(MF.ssim(pred_t, target_t, profile.ssim_data_range)),
        fSSIM=float(MF.foreground_ssim(pred_t, target_t, weights, profile.ssim_data_range)),
        fg_ratio=float(weights.mean()),
    )


def _mean_row(records: Sequence[dict], prefix: str = '') -> dict:
    row: dict[str, Any] = {'N': len(records)}
    for name in METRIC_NAMES:
        values = np.array([record[prefix + name] for record in records], dtype=np.float64)
        finite = values[~np.isnan(values)]
        row[name] = float(finite.mean()) if finite.size else float('nan')
    return row


def bin_label(low: float, high: float) -> str:
    return f'fg{low * 100:g}-{high * 100:g}%'


def summarize(records: Sequence[dict], subsets: Sequence[str] = (), fg_bins=DEFAULT_FG_BINS,
              prefix: str = '') -> dict:
    """Per-subset rows (means over images), ``All`` pooled over every image, and foreground-ratio bins.

    Args:
        records: per-image dicts with ``subset``, ``fg_ratio`` and the metric keys (``prefix + name``).
        subsets: preferred row order; subsets seen in ``records`` but not listed are appended.
        prefix: read ``prefix + 'MSE'`` etc. (``'input_'`` for the composite-vs-target row).
    """
    order = list(dict.fromkeys(list(subsets) + [record['subset'] for record in records]))
    table = OrderedDict()
    for subset in order:
        members = [record for record in records if record['subset'] == subset]
        if members:
            table[subset] = _mean_row(members, prefix)
    table['All'] = _mean_row(records, prefix)
    bins = OrderedDict()
    for low, high in fg_bins:
        last = high >= 1.0
        members = [record for record in records
                   if low <= record['fg_ratio'] < high or (last and record['fg_ratio'] == high)]
        bins[bin_label(low, high)] = _mean_row(members, prefix) if members else {'N': 0}
    return dict(subsets=table, fg_bins=bins)


def format_table(summary: dict, title: str = '') -> str:
    """Plain-text table of a :func:`summarize` result (for logs)."""
    header = f'{"":<12}{"N":>6}' + ''.join(f'{name:>10}' for name in METRIC_NAMES)
    lines = [title, header] if title else [header]
    for group in ('subsets', 'fg_bins'):
        for name, row in summary[group].items():
            cells = ''.join(f'{row.get(metric, float("nan")):>10.4f}' for metric in METRIC_NAMES)
            lines.append(f'{name:<12}{row["N"]:>6}{cells}')
    return '\n'.join(lines)


@METRICS.register_module()
class HarmonizationMetric(BaseMetric):
    """Image-harmonization quality under a named :class:`~toolkit.metrics.profiles.MetricProfile`.

    Reads from each prediction: ``pred_img`` (3, H, W) on 0–255, ``gt_img`` (3, H, W) uint8,
    ``soft_mask`` (or ``mask``) (1, H, W), ``composite_img`` (for the input row), ``subset``
    and ``name`` meta fields.

    Returned keys (flat, for MMEngine's logger and ``save_best``): ``MSE``, ``fMSE``,
    ``PSNR``, ``fPSNR``, ``SSIM``, ``fSSIM`` over all images pooled; ``<subset>/<metric>``;
    ``fg0-5%/<metric>`` style foreground-ratio bins for MSE, fMSE and PSNR; and, with
    ``with_input_row``, ``input/<metric>`` for the unharmonized composite and ``worse_than_input/fMSE``, the
    fraction of images whose fMSE the model raised above the composite's.

    Args:
        profile: profile name, dict of fields, or :class:`MetricProfile` (default ``'toolkit'``).
        with_input_row: also score the composite itself (the "no harmonization" row).
        fg_bins: foreground-ratio bins as ``(low, high)`` fractions.
        output_file: write the full report (profile definition, tables, per-image values) as JSON.
    """

    # empty prefix: keys stay 'PSNR', 'HCOCO/PSNR' (what save_best='PSNR' reads), without MMEngine's warning
    default_prefix: Optional[str] = ''

    def __init__(self, profile: Union[str, dict, MetricProfile, None] = 'toolkit', with_input_row: bool = True,
                 fg_bins=DEFAULT_FG_BINS, output_file: Optional[str] = None, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.profile = get_profile(profile)
        self.with_input_row = with_input_row
        self.fg_bins = tuple(tuple(pair) for pair in fg_bins)
        self.output_file = output_file
        self.last_report: Optional[dict] = None

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if sample.get('gt_img') is None:
                raise ValueError(f'{sample.get("composite_path", "sample")}: no ground truth; '
                                 'HarmonizationMetric needs triplets (composite, mask, real image)')
            mask = sample.get('soft_mask', sample.get('mask'))
            record = dict(name=sample.get('name', ''), subset=sample.get('subset', 'unknown'))
            record.update(compute_image_metrics(sample['pred_img'], sample['gt_img'], mask, self.profile))
            if self.with_input_row:
                scores = compute_image_metrics(sample['composite_img'], sample['gt_img'], mask, self.profile)
                record.update({f'input_{name}': scores[name] for name in METRIC_NAMES})
            self.results.append(record)

    def compute_metrics(self, results: list) -> dict:
        subsets = tuple(self.dataset_meta.get('subsets', ())) if self.dataset_meta else ()
        report = dict(profile=self.profile.to_dict(), num_images=len(results),
                      model=summarize(results, subsets, self.fg_bins))
        if self.with_input_row:
            report['input'] = summarize(results, subsets, self.fg_bins, prefix='input_')
        report['per_image'] = results
        self.last_report = report

        print_log('\n' + format_table(report['model'], f'Harmonization metrics ({self.profile.name} profile)'),
                  logger='current')
        if self.with_input_row:
            print_log('\n' + format_table(report['input'], 'Input composite (no harmonization)'), logger='current')
        if self.output_file:
            os.makedirs(osp.dirname(osp.abspath(self.output_file)), exist_ok=True)
            with open(self.output_file, 'w', encoding='utf-8') as handle:
                json.dump(report, handle, indent=2, allow_nan=True)

        flat = OrderedDict()
        rows = report['model']['subsets']
        for name in METRIC_NAMES:
            flat[name] = rows['All'][name]
        for subset, row in rows.items():
            if subset != 'All':
                flat.update({f'{subset}/{name}': row[name] for name in METRIC_NAMES})
        for label, row in report['model']['fg_bins'].items():
            if row['N']:
                flat.update({f'{label}/{name}': row[name] for name in ('MSE', 'fMSE', 'PSNR')})
        if self.with_input_row:
            flat.update({f'input/{name}': report['input']['subsets']['All'][name] for name in METRIC_NAMES})
            # the share of images the model leaves with a larger foreground error than the composite had (the
            # zoo's "worse than input" count, as a curve over training)
            compared = [r for r in results if math.isfinite(r['fMSE']) and math.isfinite(r['input_fMSE'])]
            if compared:
                flat['worse_than_input/fMSE'] = sum(r['fMSE'] > r['input_fMSE'] for r in compared) / len(compared)
        return flat
