import os

import numpy as np
import pytest

from tests.conftest import write_gray
from toolkit.datasets import HarmonizationDataError, IHarmony4Dataset, parse_composite_name

TEST_PIPELINE = [
    dict(type='LoadHarmonizationImages'),
    dict(type='Resize', scale=32),
    dict(type='BinarizeMask', threshold=0.5),
    dict(type='PackHarmonizationInputs'),
]


def test_name_mapping_handles_dashes_and_underscores():
    assert parse_composite_name('c100300_1602094_1.jpg') == ('c100300_1602094', 'c100300')
    assert parse_composite_name('d21901-20130410-181833_1_9.jpg') == ('d21901-20130410-181833_1',
                                                                      'd21901-20130410-181833')
    assert parse_composite_name('a_b_c_2_3.jpg') == ('a_b_c_2', 'a_b_c')
    with pytest.raises(HarmonizationDataError, match='<real>_<fg>_<k>'):
        parse_composite_name('noparts.jpg')


def test_ihd_split_file_and_paths(tiny_iharmony):
    dataset = IHarmony4Dataset(tiny_iharmony, split='test')
    assert len(dataset) == 3
    assert dataset.metainfo['subsets'] == ('HCOCO', 'Hday2night')
    info = dataset.get_data_info(2)
    assert info['subset'] == 'Hday2night'
    assert info['name'] == 'Hday2night/composite_images/d21901-20130410-181833_1_9.png'
    assert info['mask_path'].endswith('Hday2night/masks/d21901-20130410-181833_1.png')
    assert info['gt_path'].endswith('Hday2night/real_images/d21901-20130410-181833.png')


def test_subset_selection_and_unknown_subset(tiny_iharmony):
    dataset = IHarmony4Dataset(tiny_iharmony, split='train', subsets=['Hday2night'])
    assert len(dataset) == 1 and dataset.get_data_info(0)['subset'] == 'Hday2night'
    with pytest.raises(HarmonizationDataError, match=r"subsets \['HFlickr'\] are not in the train split"):
        IHarmony4Dataset(tiny_iharmony, split='train', subsets=['HFlickr'])


def test_per_subset_split_files_are_used_without_ihd(tiny_iharmony):
    os.remove(os.path.join(tiny_iharmony, 'IHD_test.txt'))
    dataset = IHarmony4Dataset(tiny_iharmony, split='test', subsets=['HCOCO'])
    assert [dataset.get_data_info(i)['name'] for i in range(len(dataset))] == [
        'HCOCO/composite_images/c100300_1_9.png', 'HCOCO/composite_images/c2_2_9.png']


def test_missing_root_and_split_files_are_named(tmp_path, tiny_iharmony):
    with pytest.raises(HarmonizationDataError, match='nowhere: dataset root does not exist'):
        IHarmony4Dataset(str(tmp_path / 'nowhere'))
    for name in ('IHD_test.txt', 'HCOCO/HCOCO_test.txt', 'Hday2night/Hday2night_test.txt'):
        os.remove(os.path.join(tiny_iharmony, name))
    with pytest.raises(HarmonizationDataError, match='no split file found: expected .*IHD_test.txt'):
        IHarmony4Dataset(tiny_iharmony, split='test')
    with pytest.raises(HarmonizationDataError, match='HCOCO_test.txt: split file for subset'):
        IHarmony4Dataset(tiny_iharmony, split='test', subsets=['HCOCO'])


def test_split_line_pointing_to_missing_file(tiny_iharmony):
    with open(os.path.join(tiny_iharmony, 'IHD_test.txt'), 'a') as handle:
        handle.write('HCOCO/composite_images/c999_1_1.jpg\n')
    with pytest.raises(HarmonizationDataError, match=r'IHD_test.txt: entry HCOCO/composite_images/c999_1_1.jpg '
                                                       r'needs .*c999_1_1.jpg, which does not exist'):
        IHarmony4Dataset(tiny_iharmony, split='test')


def test_malformed_split_line(tiny_iharmony):
    with open(os.path.join(tiny_iharmony, 'IHD_test.txt'), 'a') as handle:
        handle.write('just_a_name.jpg\n')
    with pytest.raises(HarmonizationDataError, match=r'IHD_test.txt:4: expected "<Subset>/composite_images/'):
        IHarmony4Dataset(tiny_iharmony, split='test')


def test_pipeline_output(tiny_iharmony):
    dataset = IHarmony4Dataset(tiny_iharmony, split='test', pipeline=TEST_PIPELINE)
    item = dataset[0]
    composite, mask = item['inputs']['composite'], item['inputs']['mask']
    sample = item['data_samples']
    assert composite.shape == (3, 32, 32) and composite.dtype.is_floating_point is False
    assert mask.shape == (1, 32, 32) and set(mask.unique().tolist()) == {0.0, 1.0}
    assert sample.gt_img.shape == (3, 32, 32)
    assert sample.subset == 'HCOCO' and sample.ori_shape == (40, 60)
    assert sample.fg_ratio == pytest.approx(float(mask.mean()))


def test_empty_mask_is_an_error_naming_the_file(tiny_iharmony):
    write_gray(os.path.join(tiny_iharmony, 'HCOCO', 'masks', 'c2_2.png'), np.zeros((40, 60), np.uint8))
    dataset = IHarmony4Dataset(tiny_iharmony, split='test', pipeline=TEST_PIPELINE)
    with pytest.raises(HarmonizationDataError, match=r'c2_2.png: mask is empty'):
        dataset[1]


def test_mask_size_mismatch(tiny_iharmony):
    # same aspect ratio: resized to the composite
    mask = np.zeros((80, 120), np.uint8)
    mask[20:60, 30:90] = 255
    write_gray(os.path.join(tiny_iharmony, 'HCOCO', 'masks', 'c2_2.png'), mask)
    dataset = IHarmony4Dataset(tiny_iharmony, split='test', pipeline=TEST_PIPELINE)
    assert dataset[1]['inputs']['mask'].shape == (1, 32, 32)
    # different aspect ratio: cannot be resized
    write_gray(os.path.join(tiny_iharmony, 'HCOCO', 'masks', 'c2_2.png'), np.full((40, 40), 255, np.uint8))
    with pytest.raises(HarmonizationDataError, match=r'c2_2.png: mask size 40x40 does not match composite .*c2_2_9.png '
                                                       r'\(60x40\)'):
        dataset[1]


def test_non_binary_mask_policy(tiny_iharmony):
    mask = np.zeros((40, 60), np.uint8)
    mask[10:30, 15:45] = 255
    mask[10, 15] = 100
    write_gray(os.path.join(tiny_iharmony, 'HCOCO', 'masks', 'c2_2.png'), mask)
    strict = [dict(type='LoadHarmonizationImages', soft_mask='error'), dict(type='PackHarmonizationInputs')]
    dataset = IHarmony4Dataset(tiny_iharmony, split='test', pipeline=strict)
    with pytest.raises(HarmonizationDataError, match=r'c2_2.png: mask is not binary \(1 pixels'):
        dataset[1]


def test_bundled_samples(samples_root):
    dataset = IHarmony4Dataset(samples_root, split='test', pipeline=TEST_PIPELINE)
    assert len(dataset) == 6
    assert set(dataset.metainfo['subsets']) == {'HAdobe5k', 'RainNet', 'INR'}
    for index in range(len(dataset)):
        sample = dataset[index]['data_samples']
        assert sample.gt_img.shape == (3, 32, 32)
        assert 0 < sample.fg_ratio < 1
