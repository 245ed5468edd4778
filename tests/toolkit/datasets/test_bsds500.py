"""BSDS500 as a photo source: object segments read from the human segmentations (.mat), split by photo,
reproducible — on a small fixture written in the dataset's own format."""
import os

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from toolkit.datasets import BSDS500Photos, HarmonizationDataError
from toolkit.datasets.bsds500 import object_segments, read_segmentations
from toolkit.datasets.recipes import build_training_set


def _segmentation(height, width, objects):
    """A label map: background 1, the sky band 2 (touches the border), then the given boxes."""
    labels = np.ones((height, width), np.uint16)
    labels[:height // 5] = 2
    for number, (top, left, bottom, right) in enumerate(objects, 3):
        labels[top:bottom, left:right] = number
    return labels


def _write_fixture(root, photos):
    """``photos``: {split: {stem: [annotator objects, ...]}} → BSDS500/data/{images,groundTruth}/split/."""
    rng = np.random.default_rng(0)
    for split, entries in photos.items():
        for stem, annotators in entries.items():
            folder = os.path.join(root, 'BSDS500', 'data', 'images', split)
            os.makedirs(folder, exist_ok=True)
            cv2.imwrite(os.path.join(folder, f'{stem}.jpg'), rng.integers(0, 256, (64, 96, 3), dtype=np.uint8))
            truth = np.empty((1, len(annotators)), dtype=object)
            for index, objects in enumerate(annotators):
                segmentation = _segmentation(64, 96, objects)
                truth[0, index] = {'Segmentation': segmentation, 'Boundaries': np.zeros_like(segmentation, bool)}
            folder = os.path.join(root, 'BSDS500', 'data', 'groundTruth', split)
            os.makedirs(folder, exist_ok=True)
            savemat(os.path.join(folder, f'{stem}.mat'), {'groundTruth': truth})


def test_segments_are_read_from_the_mat_and_filtered_as_objects(tmp_path):
    _write_fixture(tmp_path, {'train': {'1': [[(20, 20, 40, 45)], [(20, 20, 40, 45), (30, 60, 50, 80)]]}})
    path = tmp_path / 'BSDS500' / 'data' / 'groundTruth' / 'train' / '1.mat'
    segmentations = read_segmentations(str(path))
    assert len(segmentations) == 2 and segmentations[1].shape == (64, 96)
    # annotator 1: background (too large, touches the border), sky (touches the border), two boxes
    assert [label for label, _ in object_segments(segmentations[1])] == [3, 4]
    tiny = _segmentation(64, 96, [(10, 10, 12, 12)])  # 4 pixels: under 2 % of the photo
    assert [label for label, _ in object_segments(tiny)] == []
    ring = np.ones((64, 96), np.int32)
    cv2.circle(ring, (48, 32), 20, 2, thickness=3)  # a thin ring: far from convex
    assert object_segments(ring) == []
    photos = BSDS500Photos(str(tmp_path), splits=('train',))
    # the same box drawn by two annotators is kept once
    assert photos.names == ('train-1.jpg',)
    assert photos.mask_labels('train-1.jpg') == ['annotator0:segment3', 'annotator1:segment4']
    mask = photos.mask('train-1.jpg', 1)
    assert mask.dtype == np.uint8 and mask.sum() == 20 * 20 and mask[30:50, 60:80].all()
    assert photos.image('train-1.jpg').shape == (64, 96, 3)


def test_splits_are_by_photo_and_the_build_is_reproducible(tmp_path):
    objects = [[(20, 20, 40, 45)], [(25, 50, 45, 70)]]
    _write_fixture(tmp_path / 'src', {'train': {str(i): objects for i in range(6)},
                                      'test': {str(i): objects for i in range(6, 9)},
                                      'val': {str(i): objects for i in range(9, 12)}})
    source = str(tmp_path / 'src')
    first = build_training_set('bsds500', str(tmp_path / 'a'), source=source, per_image=2, test_fraction=0.34)
    second = build_training_set('bsds500', str(tmp_path / 'b'), source=source, per_image=2, test_fraction=0.34)
    assert [entry['perturbation'] for entry in first['composites']] == \
        [entry['perturbation'] for entry in second['composites']]
    photos_by_split = {}
    for entry in first['composites']:
        photos_by_split.setdefault(entry['split'], set()).add(entry['photo'])
    assert photos_by_split['train'].isdisjoint(photos_by_split['test'])  # split by photo
    assert all(not photo.startswith('val-') for entry in first['composites'] for photo in [entry['photo']])
    dev = build_training_set('bsds500-dev', str(tmp_path / 'dev'), source=source, per_image=2)
    assert {entry['photo'].split('-')[0] for entry in dev['composites']} == {'val'}  # in no training set
    assert {entry['split'] for entry in dev['composites']} == {'test'}


def test_a_missing_ground_truth_is_named(tmp_path):
    _write_fixture(tmp_path, {'train': {'5': [[(20, 20, 40, 45)]]}})
    os.remove(tmp_path / 'BSDS500' / 'data' / 'groundTruth' / 'train' / '5.mat')
    with pytest.raises(HarmonizationDataError, match='5.mat: file does not exist'):
        BSDS500Photos(str(tmp_path), splits=('train',))
