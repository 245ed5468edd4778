"""The Lalonde & Efros builder on a small fixture laid out like the iHarmony4 repository's onlineDb."""
import filecmp
import json
import os
import subprocess

import cv2
import numpy as np
import pytest
from scipy.io import savemat

from toolkit.datasets import HarmonizationDataError, IHarmony4Dataset, read_image, read_mask
from toolkit.datasets.lalonde_efros import (
    FOLDER,
    LalondeEfrosPhotos,
    box_fill,
    fetch_lalonde_efros,
    read_annotation,
    write_checksums,
)
from toolkit.datasets.recipes import build_training_set

XML = '''<image>
<filename>{stem}.jpg</filename>
<folder></folder>
<size><width>64</width><height>64</height></size>
<generated>{generated}</generated>
</image>
<file><filename>{stem}.xml</filename></file>
<object>
<objectId>1</objectId>
<name>{name}</name>
<masks><filename>masks/{stem}.mat</filename></masks>
<keyword>{keyword}</keyword>
</object>
'''


def _ellipse(center, axes):
    mask = np.zeros((64, 64), np.uint8)
    cv2.ellipse(mask, center, axes, 0, 0, 360, 1, -1)
    return mask


#: stem → (generated, LabelMe name, keyword, object mask)
PHOTOS = {
    'image_000001': ('0', 'car side', 'car', _ellipse((30, 40), (14, 8))),
    'image_000002': ('0', 'carleft', 'car', _ellipse((34, 36), (12, 9))),
    'image_000003': ('0', 'trees', 'tree', _ellipse((20, 20), (10, 16))),
    'image_000004': ('0', 'tree', 'tree', _ellipse((44, 24), (12, 14))),
    'image_000005': ('1', 'car', 'car', _ellipse((30, 30), (10, 10))),  # a composite: never used
    'image_000006': ('0', 'building', 'building', np.pad(np.ones((30, 40), np.uint8), ((10, 24), (10, 14)))),
    'image_000007': ('0', 'sky', 'sky', _ellipse((32, 10), (20, 6))),
    'image_000008': ('0', 'car', 'car', _ellipse((5, 5), (1, 1))),  # a few pixels: below the area range
}


@pytest.fixture(scope='module')
def online_db(tmp_path_factory):
    root = tmp_path_factory.mktemp('repo')
    db = root / FOLDER
    (db / 'Images').mkdir(parents=True)
    (db / 'Annotation' / 'masks').mkdir(parents=True)
    rng = np.random.default_rng(0)
    for index, (stem, (generated, name, keyword, mask)) in enumerate(PHOTOS.items()):
        base = rng.integers(40, 215, 3)
        image = np.clip(base + rng.normal(0, 20, (64, 64, 3)), 0, 255).astype(np.uint8)
        image[mask.astype(bool)] = np.clip(image[mask.astype(bool)].astype(int) + 30 * (index % 3 - 1), 0, 255)
        cv2.imwrite(str(db / 'Images' / f'{stem}.jpg'), image)
        (db / 'Annotation' / f'{stem}.xml').write_text(XML.format(stem=stem, generated=generated, name=name,
                                                                   keyword=keyword))
        savemat(str(db / 'Annotation' / 'masks' / f'{stem}.mat'), dict(objMask=mask, bgMask=1 - mask))
    real = [stem for stem, entry in PHOTOS.items() if entry[0] == '0']
    write_checksums(str(db), real, str(root / 'checksums.sha256.gz'))
    return root


def test_annotations_masks_classes_and_filters(online_db):
    annotation = read_annotation(str(online_db / FOLDER / 'Annotation' / 'image_000002.xml'))
    assert annotation == dict(image='image_000002.jpg', generated=False, name='carleft', keyword='car',
                              mask='masks/image_000002.mat')
    photos = LalondeEfrosPhotos(str(online_db), checksums=None)
    # the composite, the rectangle and the 5-pixel object are left out, each for its reason
    assert photos.names == ('image_000001.jpg', 'image_000002.jpg', 'image_000003.jpg', 'image_000004.jpg',
                            'image_000007.jpg')
    assert dict(photos.skipped) == {'composite': 1, 'rectangle': 1, 'area': 1}
    assert photos.object_class('image_000002.jpg') == 'car' and photos.object_class('image_000003.jpg') == 'tree'
    assert photos.classes() == {'car': ['image_000001.jpg', 'image_000002.jpg'],
                                'tree': ['image_000003.jpg', 'image_000004.jpg'], 'sky': ['image_000007.jpg']}
    np.testing.assert_array_equal(photos.mask('image_000003.jpg'), PHOTOS['image_000003'][3])
    assert photos.image('image_000001.jpg').shape == (64, 64, 3)
    assert box_fill(PHOTOS['image_000006'][3]) == 1.0
    stuff = LalondeEfrosPhotos(str(online_db / FOLDER), checksums=None, exclude_classes=['sky'])
    assert 'image_000007.jpg' not in stuff.names and stuff.skipped['class'] == 1
    only = LalondeEfrosPhotos(str(online_db), checksums=None, classes=['tree'])
    assert only.names == ('image_000003.jpg', 'image_000004.jpg')


def test_checksums_catch_a_modified_photo(online_db, tmp_path):
    import shutil
    listing = str(online_db / 'checksums.sha256.gz')
    assert len(LalondeEfrosPhotos(str(online_db), checksums=listing)) == 5
    copy = tmp_path / 'copy'
    shutil.copytree(online_db, copy)
    mat = copy / FOLDER / 'Annotation' / 'masks' / 'image_000003.mat'
    mask = PHOTOS['image_000003'][3].copy()
    mask[0, 0] = 1
    savemat(str(mat), dict(objMask=mask, bgMask=1 - mask))
    with pytest.raises(HarmonizationDataError, match=r'photo image_000003 .*differs from'):
        LalondeEfrosPhotos(str(copy), checksums=listing)
    os.remove(copy / FOLDER / 'Images' / 'image_000004.jpg')
    with pytest.raises(HarmonizationDataError, match=r'image_000004.jpg: file does not exist'):
        LalondeEfrosPhotos(str(copy), checksums=None)
    with pytest.raises(HarmonizationDataError, match=r'not a copy of bcmi/Image-Harmonization-Dataset-iHarmony4'):
        LalondeEfrosPhotos(str(tmp_path), checksums=None)


def test_builder_splits_by_photo_transfers_within_classes_and_is_reproducible(online_db, tmp_path):
    listing = str(online_db / 'checksums.sha256.gz')
    options = dict(source=str(online_db), checksums=listing, per_image=6, test_fraction=0.4, exclude_classes=())
    manifest = build_training_set('lalonde-efros', str(tmp_path / 'a'), seed=3, **options)
    entries = manifest['composites']
    assert len(entries) == 5 * 6 and manifest['recipe'] == 'lalonde-efros'
    # the checksum list names the real photos, so composites are not even opened
    assert manifest['skipped_photos'] == {'rectangle': 1, 'area': 1}
    train = {e['photo'] for e in entries if e['split'] == 'train'}
    test = {e['photo'] for e in entries if e['split'] == 'test'}
    assert len(test) == 2 and not train & test
    for entry in entries:
        composite = read_image(str(tmp_path / 'a' / entry['composite']))
        real = read_image(str(tmp_path / 'a' / entry['real']))
        mask = read_mask(str(tmp_path / 'a' / entry['mask'])) > 0.5
        stem = entry['photo'][:-4]
        np.testing.assert_array_equal(mask, PHOTOS[stem][3].astype(bool))  # the annotated object, not GrabCut
        np.testing.assert_array_equal(composite[~mask], real[~mask])
        assert entry['object_class'] == PHOTOS[stem][2]
        if entry['perturbation']['type'] == 'SameClassTransfer' and entry['object_class'] != 'sky':
            assert entry['perturbation']['params']['reference_class'] == entry['object_class']
            assert entry['perturbation']['params']['reference'] != entry['photo']
    assert IHarmony4Dataset(str(tmp_path / 'a'), split='test').metainfo['subsets'] == ('LalondeEfros',)
    again = build_training_set('lalonde-efros', str(tmp_path / 'b'), seed=3, **options)
    assert json.dumps(again['composites']) == json.dumps(entries)
    names = sorted(os.listdir(tmp_path / 'a' / 'LalondeEfros' / 'composite_images'))
    _, mismatch, errors = filecmp.cmpfiles(tmp_path / 'a' / 'LalondeEfros' / 'composite_images',
                                           tmp_path / 'b' / 'LalondeEfros' / 'composite_images', names, shallow=False)
    assert not mismatch and not errors


def test_a_second_source_joins_the_same_root(online_db, tmp_path, samples_root):
    build_training_set('lalonde-efros', str(tmp_path), source=str(online_db), checksums=None, per_image=2,
                       exclude_classes=())
    build_training_set('folder', str(tmp_path), source=os.path.join(samples_root, 'RainNet', 'real_images'),
                       per_image=2, masks_per_image=1, name='Photos')
    lines = open(tmp_path / 'IHD_train.txt').read().split()
    assert {line.split('/')[0] for line in lines} == {'LalondeEfros', 'Photos'}  # neither overwrote the other
    assert IHarmony4Dataset(str(tmp_path), split='train').metainfo['subsets'] == ('LalondeEfros', 'Photos')


def test_fetch_is_a_sparse_clone_of_the_pinned_commit(online_db, tmp_path):
    """Against a local repository (file://): only onlineDb is checked out, at the commit asked for."""
    source = tmp_path / 'remote'
    subprocess.run(['git', 'init', '-q', str(source)], check=True)
    import shutil
    shutil.copytree(online_db / 'Lalonde and Efros', source / 'Lalonde and Efros')
    (source / 'README.md').write_text('other content the builder does not need\n')
    environment = dict(os.environ, GIT_AUTHOR_NAME='t', GIT_AUTHOR_EMAIL='t@example.org', GIT_COMMITTER_NAME='t',
                       GIT_COMMITTER_EMAIL='t@example.org')
    for command in (['add', '-A'], ['commit', '-q', '-m', 'fixture'], ['config', 'uploadpack.allowFilter', 'true'],
                    ['config', 'uploadpack.allowAnySHA1InWant', 'true']):
        subprocess.run(['git', '-C', str(source), *command], check=True, env=environment)
    commit = subprocess.run(['git', '-C', str(source), 'rev-parse', 'HEAD'], capture_output=True, text=True,
                            check=True).stdout.strip()
    path = fetch_lalonde_efros(str(tmp_path / 'cache'), url=f'file://{source}', commit=commit)
    assert path.endswith(FOLDER) and sorted(os.listdir(path)) == ['Annotation', 'Images']
    assert not os.path.exists(os.path.join(os.path.dirname(os.path.dirname(path)), 'README.md'))  # sparse
    assert filecmp.cmp(os.path.join(path, 'Images', 'image_000001.jpg'),
                       online_db / FOLDER / 'Images' / 'image_000001.jpg', shallow=False)
    assert fetch_lalonde_efros(str(tmp_path / 'cache'), url=f'file://{source}', commit=commit) == path  # reused
    with pytest.raises(HarmonizationDataError, match='git fetch failed'):
        fetch_lalonde_efros(str(tmp_path / 'other'), url=f'file://{source}', commit='0' * 40)
