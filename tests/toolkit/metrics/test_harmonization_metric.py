import json

import numpy as np
import pytest
import torch

from toolkit.metrics import HarmonizationMetric, compute_image_metrics


def _sample(subset, error, fg_rows, name, seed=0):
    generator = torch.Generator().manual_seed(seed)
    gt = torch.randint(0, 200, (3, 32, 32), generator=generator, dtype=torch.uint8)
    mask = torch.zeros(1, 32, 32)
    mask[:, :fg_rows] = 1
    pred = gt.float()
    pred[:, :fg_rows] += error
    composite = gt.clone()
    composite[:, :fg_rows] += 40
    return dict(gt_img=gt, pred_img=pred, composite_img=composite, mask=mask, soft_mask=mask, subset=subset,
                name=name)


@pytest.fixture
def samples():
    return [_sample('A', 2.0, 16, 'A/1'), _sample('A', 4.0, 16, 'A/2', 1), _sample('B', 10.0, 1, 'B/1', 2)]


def test_subset_rows_pooled_all_and_bins(samples, tmp_path):
    metric = HarmonizationMetric(profile=dict(resolution=(32, 32)), output_file=str(tmp_path / 'r.json'))
    metric.dataset_meta = dict(subsets=('A', 'B'))
    metric.process(None, samples)
    flat = metric.compute_metrics(metric.results)
    per_image = [compute_image_metrics(s['pred_img'], s['gt_img'], s['mask'], metric.profile) for s in samples]
    # All pools the three images: it is NOT the mean of the two subset means
    pooled = np.mean([values['MSE'] for values in per_image])
    subset_mean = np.mean([np.mean([per_image[0]['MSE'], per_image[1]['MSE']]), per_image[2]['MSE']])
    assert flat['MSE'] == pytest.approx(pooled) and pooled != pytest.approx(subset_mean)
    assert flat['A/fMSE'] == pytest.approx((4.0 + 16.0) / 2)
    assert flat['B/fMSE'] == pytest.approx(100.0)
    # foreground 1/32 of the image → 0-5% bin; half the image → 15-100%
    assert flat['fg0-5%/fMSE'] == pytest.approx(100.0)
    assert flat['fg15-100%/fMSE'] == pytest.approx(10.0)
    assert 'fg5-15%/MSE' not in flat  # empty bin
    # the input row scores the composite itself
    assert flat['input/fMSE'] == pytest.approx(1600.0)
    assert flat['worse_than_input/fMSE'] == 0.0  # errors of 2, 4 and 10 levels against the composite's 40
    report = json.loads((tmp_path / 'r.json').read_text())
    assert report['profile']['name'] == 'custom' and 'fMSE = sum over foreground' in report['profile']['definition']
    assert report['model']['subsets']['All']['N'] == 3 and len(report['per_image']) == 3
    assert list(report['model']['subsets']) == ['A', 'B', 'All']
    worse = _sample('B', 50.0, 2, 'B/2', 3)  # 50 levels off where the composite was 40 off
    metric.process(None, [worse])
    assert metric.compute_metrics(metric.results)['worse_than_input/fMSE'] == pytest.approx(1 / 4)


def test_missing_ground_truth_is_a_clear_error(samples):
    metric = HarmonizationMetric()
    sample = dict(samples[0])
    sample.pop('gt_img')
    sample['composite_path'] = 'x/composite_images/y_1_1.jpg'
    with pytest.raises(ValueError, match='y_1_1.jpg: no ground truth'):
        metric.process(None, [sample])
