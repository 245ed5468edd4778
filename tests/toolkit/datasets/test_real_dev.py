"""The real dev set builder: pinned commits, reserved triplets left out, duplicates taken once, the iHarmony4
layout, and a refusal of reserved repositories — on small git repositories made here."""
import json
import os
import subprocess

import cv2
import numpy as np
import pytest

from toolkit.datasets import HarmonizationDataError, IHarmony4Dataset
from toolkit.datasets.real_dev import (
    RESERVED_REAL_IMAGES,
    DevSource,
    build_real_dev_set,
    check_no_overlap,
    split_composite_name,
)


def _repository(path, triplets, folders=('c', 'm', 'r')):
    """A git repository with ``triplets`` (composite names) in ``folders``; returns its HEAD commit."""
    rng = np.random.default_rng(len(triplets))
    for folder in folders:
        os.makedirs(path / folder, exist_ok=True)
    for name in triplets:
        real, mask = split_composite_name(name)
        cv2.imwrite(str(path / folders[0] / name), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
        cv2.imwrite(str(path / folders[1] / f'{mask}.png'), np.full((8, 8), 255, np.uint8))
        cv2.imwrite(str(path / folders[2] / f'{real}.jpg'), rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    environment = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@t', GIT_COMMITTER_NAME='t',
                       GIT_COMMITTER_EMAIL='t@t')
    for command in (['init', '-q'], ['add', '.'], ['commit', '-qm', 'x']):
        subprocess.run(['git', '-C', str(path), *command], check=True, env=environment)
    return subprocess.run(['git', '-C', str(path), 'rev-parse', 'HEAD'], capture_output=True, text=True,
                          check=True).stdout.strip()


def test_reserved_triplets_are_left_out_and_the_layout_is_iharmony4(tmp_path):
    first, second = tmp_path / 'one', tmp_path / 'two'
    reserved = sorted(RESERVED_REAL_IMAGES)[0]
    commit_one = _repository(first, ['a0065_1_2.jpg', f'{reserved}_1_3.jpg', 'f160_1_2.jpg', 'd1-x_1_1.jpg'])
    commit_two = _repository(second, ['d1-x_1_1.jpg', 'd2-y_1_4.jpg'])
    sources = [DevSource('o/one', commit_one, 'c', 'm', 'r'), DevSource('o/two', commit_two, 'c', 'm', 'r')]
    out = tmp_path / 'dev'
    manifest = build_real_dev_set(str(out), {'o/one': str(first), 'o/two': str(second)}, sources)
    assert manifest['subsets'] == {'HAdobe5k': 1, 'HFlickr': 1, 'Hday2night': 2}
    assert manifest['left_out_reserved'] == [f'o/one:{reserved}_1_3.jpg']
    assert manifest['duplicates'] == ['o/two:d1-x_1_1.jpg (taken from o/one)']
    assert not any(reserved in name for _, _, names in os.walk(out) for name in names)
    assert all(len(triplet['files']['composite']['sha256']) == 64 and triplet['commit'] in (commit_one, commit_two)
               for triplet in manifest['triplets'])
    dataset = IHarmony4Dataset(str(out), split='test')
    assert len(dataset) == 4  # every triplet readable as an iHarmony4 test split
    assert json.load(open(out / 'manifest.json'))['use'].startswith('selection only')
    # no evaluation data in it
    assert len(check_no_overlap(str(out), [str(out)])) == 4  # the check sees shared composites ...
    assert check_no_overlap(str(out), [os.path.join(os.path.dirname(__file__), '..', '..', '..', 'data',
                                                    'samples')]) == []  # ... and the bundled samples share none


def test_reserved_repositories_and_unpinned_commits_are_refused(tmp_path):
    repository = tmp_path / 'repo'
    commit = _repository(repository, ['a0065_1_2.jpg'])
    with pytest.raises(HarmonizationDataError, match='reserved'):
        build_real_dev_set(str(tmp_path / 'dev'), {'vinthony/S2CRNet-demos': str(repository)},
                           [DevSource('vinthony/S2CRNet-demos', commit, 'c', 'm', 'r')])
    with pytest.raises(HarmonizationDataError, match='git cat-file'):
        build_real_dev_set(str(tmp_path / 'dev'), {'o/x': str(repository)}, [DevSource('o/x', '0' * 40, 'c', 'm', 'r')])
