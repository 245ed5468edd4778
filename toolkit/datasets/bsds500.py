"""The Berkeley Segmentation Data Set (BSDS500): 500 natural photos (about 481×321) with 5–10 human
segmentations each, as a source of real photos with object masks (people, animals, objects: what the street
scenes of Lalonde & Efros lack).

Source: the public repository BIDS/BSDS500 at commit :data:`COMMIT` (``BSDS500/data/images/{train,val,test}``
and ``BSDS500/data/groundTruth/{train,val,test}/*.mat``; each ``.mat`` holds a ``groundTruth`` cell array, one
``Segmentation`` label map per annotator). Terms: the repository and the dataset's page ask users to cite
Arbelaez, Maire, Fowlkes and Malik, "Contour Detection and Hierarchical Image Segmentation", IEEE TPAMI 33(5),
2011 (docs/datasets.md); HarmonyZoo never redistributes the photos.

Object masks: every segment of every annotator's segmentation that looks like an object rather than stuff —
its area is 2–50 % of the photo (:data:`AREA_RANGE`), it is compact (it fills at least :data:`MIN_SOLIDITY` of its
convex hull: no sky or ground wrapped around everything else), it touches at most :data:`MAX_BORDER_SHARE` of the
photo's border, and it is one piece (its largest connected component keeps ≥ 90 % of it; that component is
the mask). Each
annotator's segments count on their own (annotators draw different objects), and near-duplicates across
annotators (intersection over union ≥ 0.8) are kept once.
"""
from __future__ import annotations

import os
import os.path as osp
from collections import Counter
from typing import Sequence

import cv2
import numpy as np

from .io import HarmonizationDataError, read_image
from .photos import PhotoCollection, register_collection

REPOSITORY = 'BIDS/BSDS500'
COMMIT = 'a04b7c6c3a9f0ace74bf205c72a43d32e1c72722'
SPLITS = ('train', 'val', 'test')
#: fraction of the photo an object segment may cover
AREA_RANGE = (0.02, 0.5)
#: area / convex-hull area at least this
MIN_SOLIDITY = 0.6
#: share of the photo's border pixels the segment may touch
MAX_BORDER_SHARE = 0.25
#: near-duplicate masks (from different annotators) above this intersection over union are kept once
DUPLICATE_IOU = 0.8


def find_data_root(path: str) -> str:
    """The ``data`` folder (``images/``, ``groundTruth/``) of a clone, of ``BSDS500/`` or of ``data`` itself."""
    for candidate in (path, osp.join(path, 'data'), osp.join(path, 'BSDS500', 'data')):
        if osp.isdir(osp.join(candidate, 'images')) and osp.isdir(osp.join(candidate, 'groundTruth')):
            return osp.abspath(candidate)
    raise HarmonizationDataError(f'{path}: not a BSDS500 copy (no data/images and data/groundTruth below it); '
                                 f'clone {REPOSITORY} at {COMMIT[:7]}')


def read_segmentations(path: str) -> list[np.ndarray]:
    """The annotators' label maps of one ``groundTruth/*.mat`` file: ``[(H, W) int]``, one per annotator."""
    from scipy.io import loadmat
    try:
        cells = loadmat(path)['groundTruth']
    except (OSError, ValueError, KeyError) as error:
        raise HarmonizationDataError(f'{path}: cannot read BSDS500 ground truth ({error})') from None
    return [np.asarray(cells[0, index]['Segmentation'][0, 0]).astype(np.int32) for index in range(cells.shape[1])]


def object_segments(segmentation: np.ndarray, area_range: Sequence[float] = AREA_RANGE,
                    min_solidity: float = MIN_SOLIDITY, max_border_share: float = MAX_BORDER_SHARE) -> list:
    """The labels of ``segmentation`` whose segments pass the object tests of the module doc, with their masks:
    ``[(label, (H, W) uint8 {0, 1})]``.

    Example:
        >>> labels = np.ones((40, 60), np.int32); labels[10:25, 20:35] = 2   # a square object on a background
        >>> [label for label, _ in object_segments(labels)]
        [2]
    """
    height, width = segmentation.shape
    border = np.zeros((height, width), bool)
    border[0], border[-1], border[:, 0], border[:, -1] = True, True, True, True
    border_pixels = int(border.sum())
    found = []
    for label in np.unique(segmentation):
        segment = segmentation == label
        area = segment.mean()
        if not area_range[0] <= area <= area_range[1]:
            continue
        if (segment & border).sum() > max_border_share * border_pixels:
            continue
        count, components, stats, _ = cv2.connectedComponentsWithStats(segment.astype(np.uint8), connectivity=8)
        largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
        piece = (components == largest).astype(np.uint8)
        if piece.sum() < 0.9 * segment.sum():
            continue
        contours, _ = cv2.findContours(piece, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        hull_area = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
        if hull_area <= 0 or piece.sum() / hull_area < min_solidity:
            continue  # a ring or a frame around other segments is no object
        found.append((int(label), piece))
    return found


@register_collection
class BSDS500Photos(PhotoCollection):
    """The BSDS500 photos with the object masks of their human segmentations (see the module doc).

    Args:
        root: a clone or snapshot of BIDS/BSDS500 (or its ``BSDS500/data`` folder).
        splits: which of the dataset's splits to read (``train``, ``val``, ``test``); e.g. ``('val',)`` for a
            synthetic dev split whose photos are in no training set.

    Attributes:
        skipped: ``Counter`` of photos left out (``no object``: no segment passes).
    """

    kind = 'bsds500'

    def __init__(self, root: str, splits: Sequence[str] = SPLITS, **kwargs):
        data = find_data_root(root)
        super().__init__(data, **kwargs)
        unknown = sorted(set(splits) - set(SPLITS))
        if unknown:
            raise HarmonizationDataError(f'unknown BSDS500 split(s) {unknown}; choose from {SPLITS}')
        self.splits = tuple(splits)
        self._paths: dict[str, tuple[str, str]] = {}
        self._masks: dict[str, list[np.ndarray]] = {}
        self._labels: dict[str, list[str]] = {}
        self.skipped: Counter = Counter()
        names = []
        for split in self.splits:
            folder = osp.join(data, 'images', split)
            if not osp.isdir(folder):
                raise HarmonizationDataError(f'{folder}: missing (a partial BSDS500 copy?)')
            for entry in sorted(os.listdir(folder)):
                if not entry.lower().endswith('.jpg'):
                    continue
                stem = osp.splitext(entry)[0]
                truth = osp.join(data, 'groundTruth', split, stem + '.mat')
                if not osp.isfile(truth):
                    raise HarmonizationDataError(f'{truth}: file does not exist (ground truth of {entry})')
                masks, labels = [], []
                for annotator, segmentation in enumerate(read_segmentations(truth)):
                    for label, mask in object_segments(segmentation):
                        if any(_iou(mask, kept) >= DUPLICATE_IOU for kept in masks):
                            continue
                        masks.append(mask)
                        labels.append(f'annotator{annotator}:segment{label}')
                if not masks:
                    self.skipped['no object'] += 1
                    continue
                name = f'{split}-{entry}'  # one flat name space (output files are named after it)
                self._paths[name] = (osp.join(folder, entry), truth)
                self._masks[name], self._labels[name] = masks, labels
                names.append(name)
        if not names:
            raise HarmonizationDataError(f'{data}: no BSDS500 photo with an object segment in {self.splits}')
        self.names = tuple(names)

    def _read_image(self, name: str) -> np.ndarray:
        path = self._paths[name][0]
        image = read_image(path)
        if image.shape[:2] != self._masks[name][0].shape:
            raise HarmonizationDataError(f'{path}: size {image.shape[1]}x{image.shape[0]} differs from its ground '
                                         f'truth ({self._masks[name][0].shape[1]}x{self._masks[name][0].shape[0]})')
        return image

    def mask_labels(self, name: str) -> list[str]:
        return list(self._labels[name])

    def _read_mask(self, name: str, index: int) -> np.ndarray:
        return self._masks[name][index].copy()

    def options(self) -> dict:
        return dict(splits=list(self.splits))


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    union = np.logical_or(a, b).sum()
    return float(np.logical_and(a, b).sum() / union) if union else 0.0
