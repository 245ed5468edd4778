import json

import pytest

from toolkit.benchmark import run_benchmark
from toolkit.datasets import HarmonizationDataError, RAHarmony4Dataset, read_reference_list, write_reference_list

PIPELINE = [dict(type='LoadHarmonizationImages'), dict(type='Resize', scale=32),
            dict(type='BinarizeMask', threshold=0.5), dict(type='PackHarmonizationInputs')]
ENTRIES = [
    dict(input='RainNet/composite_images/rainnet1_1_1.png', mask='RainNet/masks/rainnet1_1.png',
         refs=['RainNet/real_images/rainnet2.png', 'RainNet/real_images/rainnet3.png',
               'HAdobe5k/real_images/a0002.jpg']),
    dict(input='HAdobe5k/composite_images/a0002_1_4.jpg', mask='HAdobe5k/masks/a0002_1.png', refs=[]),
]


@pytest.fixture
def reference_list(tmp_path):
    path = str(tmp_path / 'refs.jsonl')
    write_reference_list(path, ENTRIES)
    return path


def test_round_trip_and_format(reference_list):
    assert read_reference_list(reference_list) == ENTRIES
    first = json.loads(open(reference_list).readline())
    assert set(first) == {'input', 'mask', 'refs'}


def test_dataset_targets_and_reference_choice(samples_root, reference_list):
    dataset = RAHarmony4Dataset(samples_root, reference_list, pipeline=PIPELINE, reference_choice='random', seed=3)
    info = dataset.get_data_info(0)
    assert info['gt_path'].endswith('RainNet/real_images/rainnet1.png') and len(info['ref_paths']) == 1
    assert dataset.get_data_info(1)['ref_paths'] == []  # empty list: the non-reference setting
    same = RAHarmony4Dataset(samples_root, reference_list, pipeline=PIPELINE, reference_choice='random', seed=3)
    assert same.get_data_info(0)['ref_paths'] == info['ref_paths']
    drawn = {RAHarmony4Dataset(samples_root, reference_list, seed=seed).get_data_info(0)['ref_paths'][0]
             for seed in range(20)}
    assert len(drawn) == 3  # every candidate gets drawn by some seed
    item = dataset[0]
    assert item['inputs']['references'].shape == (1, 3, 32, 32)
    assert 'references' not in dataset[1]['inputs']
    everything = RAHarmony4Dataset(samples_root, reference_list, reference_choice='all')
    assert len(everything.get_data_info(0)['ref_paths']) == 3
    assert dataset.metainfo['subsets'] == ('RainNet', 'HAdobe5k')


def test_bad_reference_lists(samples_root, tmp_path):
    bad = tmp_path / 'bad.jsonl'
    bad.write_text('{"input": "RainNet/composite_images/rainnet1_1_1.png", "mask": "x.png"}\n')
    with pytest.raises(HarmonizationDataError, match=r'bad.jsonl:1: needs "input", "mask" and a "refs" list'):
        RAHarmony4Dataset(samples_root, str(bad))
    bad.write_text('not json\n')
    with pytest.raises(HarmonizationDataError, match='bad.jsonl:1: not JSON'):
        RAHarmony4Dataset(samples_root, str(bad))
    bad.write_text(json.dumps(dict(ENTRIES[0], refs=['RainNet/real_images/nope.png'])) + '\n')
    with pytest.raises(HarmonizationDataError, match=r'bad.jsonl:1: .*nope.png does not exist'):
        RAHarmony4Dataset(samples_root, str(bad))
    with pytest.raises(HarmonizationDataError, match='missing.jsonl: reference list does not exist'):
        RAHarmony4Dataset(samples_root, str(tmp_path / 'missing.jsonl'))


def test_protocol_subset_keeps_the_composites_with_references(samples_root, reference_list):
    """The RAHarmony4 test protocol scores only composites that have references (2,248 of 7,404 in the release)."""
    protocol = RAHarmony4Dataset(samples_root, reference_list, composites='with-references')
    assert len(protocol) == 1 and protocol.get_data_info(0)['name'] == ENTRIES[0]['input']
    assert len(RAHarmony4Dataset(samples_root, reference_list, composites='all')) == 2
    assert protocol.cache_identity() != RAHarmony4Dataset(samples_root, reference_list).cache_identity()
    with pytest.raises(ValueError, match='composites must be one of'):
        RAHarmony4Dataset(samples_root, reference_list, composites='some')


def test_benchmark_reference_protocol(samples_root, reference_list, tmp_path):
    result = run_benchmark(['reinhard-lab'], samples_root, str(tmp_path / 'all'), efficiency=False, num_workers=0,
                           references=reference_list, reference_runs=3, reference_composites='all')
    assert result['dataset']['reference_runs'] == 3 and result['dataset']['num_images'] == 2
    protocol = run_benchmark(['reinhard-lab'], samples_root, str(tmp_path / 'protocol'), efficiency=False,
                             num_workers=0, references=reference_list, reference_runs=1)
    assert protocol['dataset']['num_images'] == 1 and protocol['dataset']['reference_composites'] == 'with-references'
    assert 'RAHarmony4 protocol' in open(tmp_path / 'protocol' / 'leaderboard.md').read()
    tmp_path = tmp_path / 'all'
    model = result['models'][0]
    # a model that ignores references gives the same numbers in every run: zero spread
    assert model['quality_std']['subsets']['All']['PSNR'] == pytest.approx(0.0, abs=1e-12)
    assert '± 0.00' in open(tmp_path / 'leaderboard.md').read()
    assert len(list((tmp_path / 'cache').glob('*.jsonl'))) == 1 + 3  # the input row once, the model once per seed
