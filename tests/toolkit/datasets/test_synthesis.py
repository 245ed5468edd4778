"""Synthetic composites: exact backgrounds, visible foregrounds, reproducibility, manifest replay, online mode."""
import filecmp
import os
import shutil

import numpy as np
import pytest

from tests.conftest import write_gray
from toolkit.datasets import (
    FolderPhotos,
    IHarmony4Dataset,
    SyntheticCompositeDataset,
    load_manifest,
    make_composites,
    read_image,
    read_mask,
    replay_composite,
)
from toolkit.datasets.synthesis import (
    GainGammaExposure,
    RandomToneCurve,
    ReinhardTransfer,
    SaturationHueShift,
    WhiteBalanceShift,
    generate_mask,
    save_manifest,
    visible_change,
)


@pytest.fixture(scope='module')
def photos(samples_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp('photos')
    for name in ('rainnet1.png', 'rainnet2.png', 'rainnet3.png'):
        shutil.copy(os.path.join(samples_root, 'RainNet', 'real_images', name), folder / name)
    return str(folder)


@pytest.fixture(scope='module')
def synthetic(photos, tmp_path_factory):
    out = str(tmp_path_factory.mktemp('synthetic'))
    manifest = make_composites(photos, out, per_image=4, masks_per_image=2, seed=7, name='Synth')
    return out, manifest


def test_layout_and_splits(synthetic):
    out, manifest = synthetic
    assert len(manifest['composites']) == 12
    for split in ('train', 'test'):
        dataset = IHarmony4Dataset(out, split=split)
        assert len(dataset) == sum(entry['split'] == split for entry in manifest['composites'])
    train_photos = {e['photo'] for e in manifest['composites'] if e['split'] == 'train'}
    test_photos = {e['photo'] for e in manifest['composites'] if e['split'] == 'test'}
    assert test_photos and not train_photos & test_photos  # split by photo: no real image in both


def test_background_exact_and_foreground_visibly_changed(synthetic):
    out, manifest = synthetic
    for entry in manifest['composites']:
        composite = read_image(os.path.join(out, entry['composite']))
        real = read_image(os.path.join(out, entry['real']))
        mask = read_mask(os.path.join(out, entry['mask'])) > 0.5
        assert 0.05 <= mask.mean() <= 0.6
        np.testing.assert_array_equal(composite[~mask], real[~mask])
        assert visible_change(real, composite, mask) >= 6.0
        assert entry['perturbation']['visible_change'] == pytest.approx(visible_change(real, composite, mask))


def test_same_seed_same_files_other_seed_other_files(photos, synthetic, tmp_path):
    out, _ = synthetic
    again = str(tmp_path / 'again')
    make_composites(photos, again, per_image=4, masks_per_image=2, seed=7, name='Synth')
    comparison = filecmp.dircmp(os.path.join(out, 'Synth'), os.path.join(again, 'Synth'))
    for folder in ('composite_images', 'masks', 'real_images'):
        sub = comparison.subdirs[folder]
        assert not sub.left_only and not sub.right_only
        _, mismatch, errors = filecmp.cmpfiles(sub.left, sub.right, sub.common_files, shallow=False)
        assert not mismatch and not errors
    assert filecmp.cmp(os.path.join(out, 'Synth', 'manifest.json'), os.path.join(again, 'Synth', 'manifest.json'),
                       shallow=False)
    other = str(tmp_path / 'other')
    make_composites(photos, other, per_image=4, masks_per_image=2, seed=8, name='Synth')
    name = 'composite_images/rainnet1_1_1.png'
    assert not filecmp.cmp(os.path.join(out, 'Synth', name), os.path.join(other, 'Synth', name), shallow=False)


def test_manifest_round_trips_and_replays(synthetic, tmp_path):
    out, manifest = synthetic
    loaded = load_manifest(os.path.join(out, 'Synth', 'manifest.json'))
    save_manifest(loaded, str(tmp_path / 'copy.json'))
    assert load_manifest(str(tmp_path / 'copy.json')) == loaded
    assert loaded['seed'] == 7 and len(loaded['composites']) == 12
    for entry in loaded['composites']:
        rebuilt = replay_composite(loaded, entry, out)
        np.testing.assert_array_equal(rebuilt, read_image(os.path.join(out, entry['composite'])))


def test_provided_masks_are_used(photos, tmp_path):
    folder = tmp_path / 'with_masks'
    shutil.copytree(photos, folder)
    mask = np.zeros((256, 256), np.uint8)
    mask[64:192, 32:128] = 255
    write_gray(str(folder / 'masks' / 'rainnet2_1.png'), mask)
    manifest = make_composites(str(folder), str(tmp_path / 'out'), per_image=2, seed=0, name='S')
    entries = [e for e in manifest['composites'] if e['photo'] == 'rainnet2.png']
    assert all(e['mask_source'] == 'provided:rainnet2_1.png' for e in entries)
    written = read_mask(str(tmp_path / 'out' / entries[0]['mask']))
    np.testing.assert_array_equal(written > 0.5, mask > 0)


def test_mask_generation_area_and_source():
    image = read_image(os.path.join(os.path.dirname(__file__), '..', '..', '..', 'data', 'samples', 'RainNet',
                                    'real_images', 'rainnet1.png'))
    for method in ('grabcut', 'blobs'):
        for seed in range(3):
            mask, source = generate_mask(image, np.random.default_rng(seed), method, area_range=(0.05, 0.6))
            assert mask.shape == image.shape[:2] and set(np.unique(mask)) <= {0, 1}
            assert 0.05 <= mask.mean() <= 0.6
            assert source in ({'grabcut', 'blobs'} if method == 'grabcut' else {'blobs'})


def test_perturbations_by_hand():
    image = np.array([[[64, 128, 255]]], np.uint8)
    context = dict(mask=np.ones((1, 1), np.uint8))
    out = GainGammaExposure().apply(image, dict(gain=[1.0, 0.5, 1.0], gamma=[2.0, 1.0, 1.0], exposure=0.0), context)
    expected = [round(255 * (64 / 255) ** 2), round(128 * 0.5), 255]
    assert out[0, 0].tolist() == expected
    out = WhiteBalanceShift().apply(image, dict(temperature=0.25, tint=0.0), context)
    assert out[0, 0].tolist() == [80, 128, 191]
    identity = SaturationHueShift().apply(image, dict(saturation=1.0, hue=0.0), context)
    assert np.abs(identity.astype(int) - image).max() <= 1
    curve = RandomToneCurve()
    params = curve.sample(np.random.default_rng(0), {})
    ramp = np.arange(256, dtype=np.uint8).reshape(1, 256, 1).repeat(3, axis=2)
    mapped = curve.apply(ramp, params, context)[0]
    assert (np.diff(mapped.astype(int), axis=0) >= 0).all()  # monotone
    assert mapped[0].tolist() == [0, 0, 0] and mapped[-1].tolist() == [255, 255, 255]


def test_reinhard_transfer_moves_foreground_towards_the_reference(photos):
    import cv2
    gt = read_image(os.path.join(photos, 'rainnet1.png'))
    reference = read_image(os.path.join(photos, 'rainnet3.png'))
    mask = np.zeros(gt.shape[:2], np.uint8)
    mask[50:200, 50:200] = 1
    out = ReinhardTransfer().apply(gt, dict(reference='rainnet3.png', strength=1.0),
                                   dict(mask=mask, photos=FolderPhotos(photos)))

    def lab_mean(image, region=None):
        lab = cv2.cvtColor(image.astype(np.float32) / 255, cv2.COLOR_RGB2LAB)
        return lab[region.astype(bool)].mean(0) if region is not None else lab.reshape(-1, 3).mean(0)

    target = lab_mean(reference)
    assert np.abs(lab_mean(out, mask) - target).max() < 0.25 * np.abs(lab_mean(gt, mask) - target).max() + 1.0


def test_online_dataset_is_deterministic_and_packs(photos):
    pipeline = [dict(type='Resize', scale=64), dict(type='BinarizeMask'), dict(type='PackHarmonizationInputs')]
    dataset = SyntheticCompositeDataset(photos, per_image=3, masks_per_image=2, seed=1, pipeline=pipeline)
    assert len(dataset) == 9
    first, again = dataset[4], dataset[4]
    assert (first['inputs']['composite'] == again['inputs']['composite']).all()
    sample = first['data_samples']
    assert first['inputs']['composite'].shape == (3, 64, 64) and sample.gt_img.shape == (3, 64, 64)
    raw = SyntheticCompositeDataset(photos, per_image=3, masks_per_image=2, seed=1)
    results = raw[4]
    background = results['mask'] < 0.5
    np.testing.assert_array_equal(results['composite'][background], results['gt'][background])
    assert results['perturbation']['visible_change'] >= 6.0


def test_train_and_benchmark_on_synthetic_data(synthetic, tmp_path):
    from toolkit.benchmark import run_benchmark
    from toolkit.engine.launch import train
    out, _ = synthetic
    config = os.path.join(os.path.dirname(__file__), '..', '..', '..', 'configs', 'unet',
                          'unet-tiny_identity_adam-20i_samples-64.py')
    runner = train(config, work_dir=str(tmp_path / 'train'), cfg_options={
        'train_dataloader.dataset.data_root': out, 'val_dataloader.dataset.data_root': out,
        'test_dataloader.dataset.data_root': out, 'train_cfg.max_iters': 6, 'train_cfg.val_interval': 6})
    assert runner.iter == 6
    result = run_benchmark(['copy-paste'], out, str(tmp_path / 'bench'), efficiency=False, num_workers=0)
    assert result['dataset']['subsets'] == ['Synth']
    assert result['models'][0]['quality']['subsets']['All']['MSE'] > 0


def test_custom_subsets_are_found_without_ihd_files(synthetic, tmp_path):
    out, _ = synthetic
    copy = tmp_path / 'copy'
    shutil.copytree(out, copy)
    for split in ('train', 'test'):
        os.remove(copy / f'IHD_{split}.txt')
    dataset = IHarmony4Dataset(str(copy), split='train')
    assert dataset.metainfo['subsets'] == ('Synth',) and len(dataset) > 0


def test_unchanged_pairs_mild_changes_and_small_object_shifts(photos, tmp_path):
    """The matched training distribution: unchanged pairs are exact copies, mild changes stay within their own
    bounds (1–6 levels, below the recipe's minimum of 4 for the others), a small-object shift only moves small
    objects; every composite replays from its manifest entry."""
    from toolkit.datasets.synthesis import RandomPerturbation
    perturbation = dict(type='RandomPerturbation',
                        perturbations=[dict(type='Unchanged'),
                                       dict(type='GainGammaExposure', gain=(0.93, 1.07), gamma=(0.92, 1.08),
                                            exposure=(-0.25, 0.25)),
                                       dict(type='SmallObjectShift', max_area=0.2), dict(type='WhiteBalanceShift')],
                        weights=[1, 1, 1, 1], change_bounds=[None, (1.0, 6.0), None, None], min_change=8.0)
    manifest = make_composites(photos, str(tmp_path), per_image=12, masks_per_image=3, seed=3, name='Matched',
                               perturbation=perturbation)
    kinds = {}
    for entry in manifest['composites']:
        kinds.setdefault(entry['perturbation']['type'], []).append(entry)
    assert set(kinds) >= {'Unchanged', 'GainGammaExposure', 'WhiteBalanceShift'}
    root = os.path.join(str(tmp_path), 'Matched')
    for entry in kinds['Unchanged']:
        assert entry['perturbation']['visible_change'] == 0.0
        name = os.path.basename(entry['composite'])
        real = os.path.join(root, 'real_images', os.path.basename(entry['real']))
        np.testing.assert_array_equal(read_image(os.path.join(root, 'composite_images', name)), read_image(real))
    assert all(1.0 <= entry['perturbation']['visible_change'] <= 6.0 for entry in kinds['GainGammaExposure'])
    assert all(entry['perturbation']['visible_change'] >= 8.0 for entry in kinds['WhiteBalanceShift'])
    for entry in kinds.get('SmallObjectShift', []):
        assert entry['perturbation']['params']['small'] and entry['perturbation']['visible_change'] >= 8.0
    for entry in manifest['composites'][:6]:
        name = os.path.basename(entry['composite'])
        np.testing.assert_array_equal(replay_composite(manifest, entry, str(tmp_path)),
                                      read_image(os.path.join(root, 'composite_images', name)))
    with pytest.raises(ValueError, match='one entry per perturbation'):
        RandomPerturbation(perturbations=[dict(type='Unchanged')], change_bounds=[None, None])
