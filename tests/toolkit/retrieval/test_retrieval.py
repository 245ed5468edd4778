"""Raiha retrieval: patch descriptors, eqs. 3/5, the gallery store, FAISS vs exact, encoder hub loading, tools."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from toolkit.datasets.io import read_image, read_mask
from toolkit.retrieval import (DenseContentEncoder, GalleryError, GalleryIndex, HarmonizationRetriever,
                               QueryDescriptors, build_reference_lists, hsv_patch_histograms, list_gallery_images,
                               pool_patch_features, score_gallery)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
TINY_VIT = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, patch_size=14, image_size=56)


def tiny_encoder(seed=0):
    torch.manual_seed(seed)
    return DenseContentEncoder(arch=TINY_VIT, input_size=112)


# ---------------------------------------------------------------------------------------------- descriptors
def test_hsv_histograms_match_numpy_histogramdd_per_cell():
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (64, 64, 3), dtype=np.uint8)
    bins = (6, 3, 2)
    ours = hsv_patch_histograms(image, grid=2, bins=bins, cell_pixels=32)
    hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV)
    for cell, (top, left) in enumerate([(0, 0), (0, 32), (32, 0), (32, 32)]):
        block = hsv[top:top + 32, left:left + 32].reshape(-1, 3).astype(float)
        reference, _ = np.histogramdd(block, bins=bins, range=[(0, 180), (0, 256), (0, 256)])
        reference = reference.ravel() / np.linalg.norm(reference)
        np.testing.assert_allclose(ours[cell], reference, atol=1e-6)


def test_hsv_histograms_weighted_and_empty_cells():
    image = np.zeros((8, 8, 3), np.uint8)
    image[:, :4] = (255, 0, 0)   # red left half
    image[:, 4:] = (0, 0, 255)   # blue right half
    weights = np.zeros((8, 8), np.float32)
    weights[:, :4] = 1
    hist = hsv_patch_histograms(image, grid=2, bins=(6, 1, 1), weights=weights, cell_pixels=4)
    # red: hue 0 → bin 0; blue (hue 120 of 180) → bin 4; right cells have no weight → zero histograms
    assert hist[0].tolist() == [1, 0, 0, 0, 0, 0] and hist[2].tolist() == [1, 0, 0, 0, 0, 0]
    assert not hist[1].any() and not hist[3].any()
    with pytest.raises(ValueError, match='uint8 RGB'):
        hsv_patch_histograms(image.astype(np.float32), grid=2)


def test_pool_patch_features_masked_average():
    features = torch.zeros(2, 4, 4)
    features[0, :, :2] = 1          # left tokens point along x
    features[1, :, 2:] = 1          # right tokens along y
    weights = np.zeros((8, 8), np.float32)
    weights[:, :4] = 1              # region = left half
    vectors, share = pool_patch_features(features, grid=1, weights=weights)
    assert torch.allclose(vectors[0], torch.tensor([1.0, 0.0])) and share.tolist() == [0.5]
    vectors, share = pool_patch_features(features, grid=2, weights=weights)
    assert share.tolist() == [1.0, 0.0, 1.0, 0.0] and not vectors[1].any()


# ---------------------------------------------------------------------------------------------- eqs. 3 and 5
def unit(*values):
    vector = torch.tensor(values, dtype=torch.float32)
    return vector / vector.norm()


def test_score_gallery_equations_3_and_5_by_hand():
    query = QueryDescriptors(foreground=unit(1, 0, 0)[None], background=unit(0, 1, 0)[None],
                             background_hsv=unit(1, 0)[None])
    cos_07 = unit(0.7, (1 - 0.49) ** 0.5, 0)    # cosine exactly 0.7 with the x axis
    gallery = torch.stack([
        torch.stack([unit(1, 0, 0), unit(0, 1, 0)]),   # 0: fg match + bg content match
        torch.stack([cos_07, unit(0, 1, 0)]),          # 1: fg similarity exactly ε_c
        torch.stack([unit(0, 0, 1), unit(0, 1, 0)]),   # 2: no fg content match
        torch.stack([unit(1, 0, 0), unit(0, 1, 0)]),   # 3: like 0, appearance differs
        torch.stack([unit(1, 0, 0), unit(0, 1, 0)]),   # 4: appearance matches on the wrong cell only
    ])
    hsv = torch.stack([
        torch.stack([unit(0, 1), unit(1, 0)]),
        torch.stack([unit(0, 1), unit(1, 0)]),
        torch.stack([unit(0, 1), unit(1, 0)]),
        torch.stack([unit(0, 1), unit(1, 1)]),          # cosine 0.707 < 0.9
        torch.stack([unit(1, 0), unit(0, 1)]),          # the same-looking cell (0) is not the similar-content one
    ])
    scores = score_gallery(query, gallery, hsv, content_threshold=0.7, illumination_threshold=0.9)
    assert scores.qualifies.tolist() == [True, True, False, False, False]
    assert scores.content[1].item() == pytest.approx(0.7, abs=1e-6)
    assert scores.illumination[3].item() == pytest.approx(2 ** -0.5, abs=1e-6)
    # eq. 5 needs one pair satisfying both: the similar-content cell looks different (cosine 0)
    assert scores.illumination[4].item() == pytest.approx(0.0, abs=1e-6)
    assert scores.illumination[2].item() == pytest.approx(1.0)   # eq. 5 alone holds for image 2 (eq. 3 fails)


@pytest.fixture(scope='module')
def sample_query():
    root = os.path.join(REPO, 'data', 'samples', 'HAdobe5k')
    composite = read_image(os.path.join(root, 'composite_images', 'a0002_1_4.jpg'))
    mask = read_mask(os.path.join(root, 'masks', 'a0002_1.png'))
    target = read_image(os.path.join(root, 'real_images', 'a0002.jpg'))
    return composite, mask, target


def constructed_gallery(target, folder):
    """A crop of the query's target, a hue-rotated copy of it, two unrelated sample photos, noise."""
    height, width = target.shape[:2]
    crop = target[height // 10:height - height // 10, width // 10:width - width // 10]
    hsv = cv2.cvtColor(target, cv2.COLOR_RGB2HSV)
    hsv[..., 0] = (hsv[..., 0].astype(int) + 60) % 180
    shifted = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    noise = (np.random.default_rng(0).random((200, 300, 3)) * 255).astype(np.uint8)
    images = dict(crop=crop, hue_shifted=shifted, noise=noise,
                  rainnet=read_image(os.path.join(REPO, 'data/samples/RainNet/real_images/rainnet1.png')),
                  inr=read_image(os.path.join(REPO, 'data/samples/INR/real_images/inr_demo2k.jpg')))
    os.makedirs(folder, exist_ok=True)
    paths = {}
    for name, image in images.items():
        paths[name] = os.path.join(folder, f'{name}.png')
        cv2.imwrite(paths[name], cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return paths


def test_retrieval_finds_the_target_crop_and_rejects_the_colour_shifted_copy(sample_query, tmp_path):
    composite, mask, target = sample_query
    paths = constructed_gallery(target, str(tmp_path / 'images'))
    retriever = HarmonizationRetriever(tiny_encoder(), gallery=str(tmp_path / 'gallery'), grid=4)
    retriever.build_index(list(paths.values()))
    results = retriever.query(composite, mask, k=5)
    assert [os.path.basename(ref.path) for ref in results] == ['crop.png']
    assert results[0].score >= 0.7 and results[0].extra['illumination'] >= 0.9
    # the hue-rotated copy has the same content but not the same light: it fails eq. 5 only
    query = retriever.describe_composite(composite, mask)
    ids, scores = retriever.score(query)
    shifted = list(paths).index('hue_shifted')
    assert scores.content[shifted] >= 0.7 and scores.illumination[shifted] < 0.9
    assert not scores.qualifies[shifted]
    # excluding the crop leaves nothing
    assert retriever.query(composite, mask, exclude=[paths['crop']]) == []


# ---------------------------------------------------------------------------------------------- gallery store
def random_units(rng, shape):
    array = rng.standard_normal(shape).astype(np.float32)
    return array / np.linalg.norm(array, axis=-1, keepdims=True)


def test_gallery_is_memory_mapped_append_only_and_checked(tmp_path):
    rng = np.random.default_rng(0)
    folder = str(tmp_path / 'g')
    gallery = GalleryIndex.create(folder, grid=2, dim=8, hist_bins=(2, 2, 1), encoder=dict(type='X'))
    first, first_hsv = random_units(rng, (3, 4, 8)), random_units(rng, (3, 4, 4))
    gallery.add(['a.jpg', 'b.jpg', 'c.jpg'], first, first_hsv)
    second = random_units(rng, (2, 4, 8))
    gallery.add(['d.jpg', 'e.jpg'], second, random_units(rng, (2, 4, 4)))
    reopened = GalleryIndex.open(folder)
    assert len(reopened) == 5 and reopened.paths == ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg']
    assert isinstance(reopened.content, np.memmap) and reopened.content.dtype == np.float16
    np.testing.assert_allclose(reopened.content[3:], second, atol=1e-3)
    assert reopened.bytes_per_image == 4 * (8 + 4) * 2
    # an interrupted add leaves an extra line in paths.txt (count unchanged): the next add replaces it
    with open(os.path.join(folder, 'paths.txt'), 'a') as handle:
        handle.write('interrupted.jpg\n')
    resumed = GalleryIndex.open(folder)
    assert len(resumed) == 5
    resumed.add(['f.jpg'], random_units(rng, (1, 4, 8)), random_units(rng, (1, 4, 4)))
    assert GalleryIndex.open(folder).paths == ['a.jpg', 'b.jpg', 'c.jpg', 'd.jpg', 'e.jpg', 'f.jpg']
    reopened = GalleryIndex.open(folder)
    with pytest.raises(GalleryError, match='content must be'):
        reopened.add(['x'], random_units(rng, (1, 4, 7)), random_units(rng, (1, 4, 4)))
    with pytest.raises(GalleryError, match='requested'):
        GalleryIndex.create(folder, grid=3, dim=8, hist_bins=(2, 2, 1), encoder=dict(type='X'), exist_ok=True)
    with open(os.path.join(folder, 'content.f16'), 'r+b') as handle:
        handle.truncate(10)
    with pytest.raises(GalleryError, match='truncated'):
        GalleryIndex.open(folder)
    with pytest.raises(GalleryError, match='not a gallery'):
        GalleryIndex.open(str(tmp_path))


def test_faiss_candidates_give_the_exact_answer_on_a_small_gallery(tmp_path):
    rng = np.random.default_rng(1)
    dim, patches, count = 16, 4, 300
    content, hsv = random_units(rng, (count, patches, dim)), random_units(rng, (count, patches, 6))
    query = QueryDescriptors(torch.from_numpy(content[7, :1] + 0.1 * random_units(rng, (1, dim))),
                             torch.from_numpy(content[7, 1:2].copy()), torch.from_numpy(hsv[7, 1:2].copy()))
    query.foreground = torch.nn.functional.normalize(query.foreground, dim=1)
    encoder = tiny_encoder()
    encoder.arch = dict(encoder.arch, hidden_size=dim)  # the store only checks the width
    gallery = GalleryIndex.create(str(tmp_path / 'g'), grid=2, dim=dim, hist_bins=(6, 1, 1),
                                  encoder=encoder.identity)
    gallery.add([f'{i}.jpg' for i in range(count)], content, hsv)
    brute = HarmonizationRetriever(encoder, gallery=str(tmp_path / 'g'), grid=2, hist_bins=(6, 1, 1),
                                   backend='brute')
    expected = brute.query(None, None, k=10, descriptors=query)
    assert expected and expected[0].path.endswith('7.jpg')
    gallery.build_faiss(nlist=4)
    approximate = HarmonizationRetriever(encoder, gallery=str(tmp_path / 'g'), grid=2, hist_bins=(6, 1, 1),
                                         backend='faiss', nprobe=4)   # all lists: exact candidates
    assert [(r.path, round(r.score, 4)) for r in approximate.query(None, None, k=10, descriptors=query)] == \
        [(r.path, round(r.score, 4)) for r in expected]
    # incremental add extends the FAISS index too
    gallery = GalleryIndex.open(str(tmp_path / 'g'))
    gallery.add(['new.jpg'], content[7:8], hsv[7:8])
    assert gallery.faiss_index().ntotal == (count + 1) * patches


def test_gallery_refuses_a_different_encoder(sample_query, tmp_path):
    composite, mask, target = sample_query
    paths = constructed_gallery(target, str(tmp_path / 'images'))
    HarmonizationRetriever(tiny_encoder(), gallery=str(tmp_path / 'g'), grid=4).build_index(list(paths.values()))
    other = DenseContentEncoder(arch=dict(TINY_VIT, num_hidden_layers=1), input_size=112)
    with pytest.raises(GalleryError, match='not comparable'):
        HarmonizationRetriever(other, gallery=str(tmp_path / 'g'), grid=4)
    with pytest.raises(GalleryError, match='grid'):
        HarmonizationRetriever(tiny_encoder(), gallery=str(tmp_path / 'g'), grid=2)


def test_incremental_build_skips_indexed_images(sample_query, tmp_path):
    _, _, target = sample_query
    paths = list(constructed_gallery(target, str(tmp_path / 'images')).values())
    retriever = HarmonizationRetriever(tiny_encoder(), gallery=str(tmp_path / 'g'), grid=4)
    retriever.build_index(paths[:2])
    gallery = retriever.build_index(paths)
    assert len(gallery) == len(paths) and len(set(gallery.paths)) == len(paths)


# ---------------------------------------------------------------------------------------------- encoder
def test_encoder_grid_normalisation_and_frozen():
    encoder = tiny_encoder()
    features = encoder(torch.rand(2, 3, 50, 70))
    assert features.shape == (2, 32, 8, 8) and not features.requires_grad
    encoder.train()
    assert not encoder.training and not any(p.requires_grad for p in encoder.parameters())
    # ImageNet normalisation + antialiased resize happen inside: a 112 input equals the resized one
    image = torch.rand(1, 3, 112, 112)
    assert torch.allclose(encoder(image), encoder(image.clone()))
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        encoder(torch.rand(3, 112, 112))
    with pytest.raises(ValueError, match='needs weights'):
        DenseContentEncoder(arch=TINY_VIT, input_size=112, denoiser=dict(num_heads=2, pos_grid=4))


def test_encoder_weights_from_the_fake_hub(fake_hub):
    from safetensors.torch import save
    source = tiny_encoder(seed=3)
    config = dict(TINY_VIT, num_register_tokens=4, layerscale_value=1.0, layer_norm_eps=1e-6)
    sha = fake_hub.add_commit('org/tiny-dinov2', {'config.json': json.dumps(config).encode(),
                                                  'model.safetensors': save(source.vit.state_dict())})
    loaded = DenseContentEncoder(input_size=112, weights=dict(repo_id='org/tiny-dinov2', revision=sha))
    image = torch.rand(1, 3, 112, 112)
    assert torch.allclose(loaded(image), source(image), atol=1e-6)
    assert loaded.identity['weights']['revision'] == sha
    # revision None: resolved to main's commit once, with a warning to pin it
    with pytest.warns(UserWarning, match='no revision pinned'):
        unpinned = DenseContentEncoder(input_size=112, weights=dict(repo_id='org/tiny-dinov2', revision=None))
    assert unpinned.identity['weights']['revision'] == sha
    # wrong keys: a strict error naming the file
    fake_hub.add_commit('org/bad-dinov2', {'config.json': json.dumps(config).encode(),
                                           'model.safetensors': save({'unexpected.weight': torch.zeros(1)})})
    from toolkit.hub import WeightsMismatchError
    with pytest.raises(WeightsMismatchError, match='org/bad-dinov2/model.safetensors'), \
            pytest.warns(UserWarning, match='no revision pinned'):
        DenseContentEncoder(input_size=112, weights=dict(repo_id='org/bad-dinov2', revision=None))


def test_dvt_denoiser_weights_from_the_fake_hub(fake_hub):
    from safetensors.torch import save

    from toolkit.retrieval import DVTDenoiser
    torch.manual_seed(0)
    denoiser = DVTDenoiser(dim=32, num_heads=2, pos_grid=4)
    sha = fake_hub.add_commit('org/dvt', {'denoiser.safetensors': save(denoiser.state_dict())})
    encoder = DenseContentEncoder(arch=TINY_VIT, input_size=112, denoiser=dict(
        num_heads=2, pos_grid=4, weights=dict(repo_id='org/dvt', revision=sha, filename='denoiser.safetensors')))
    plain = DenseContentEncoder(arch=TINY_VIT, input_size=112)
    plain.load_state_dict(encoder.state_dict(), strict=False)
    image = torch.rand(1, 3, 112, 112)
    assert torch.allclose(encoder(image), denoiser(plain(image)), atol=1e-5)


# ---------------------------------------------------------------------------------------------- RAHarmony4 lists
def test_reference_lists_and_tools_on_a_copy_of_the_samples(tmp_path):
    import shutil
    root = str(tmp_path / 'root')
    shutil.copytree(os.path.join(REPO, 'data', 'samples'), root)
    targets = list_gallery_images(os.path.join(root, 'IHD_train.txt'))
    assert len(targets) == 5 and all('/real_images/' in path for path in targets)
    # threshold 0 admits everything that exists, so exclusion of the own target is what is tested
    retriever = HarmonizationRetriever(tiny_encoder(), gallery=str(tmp_path / 'g'), grid=2,
                                       content_threshold=-1, illumination_threshold=-1)
    retriever.build_index(targets, root=root)
    entries = build_reference_lists(retriever, root, split='test', k=10)
    assert len(entries) == 6
    first = entries[0]
    assert first['input'] == 'HAdobe5k/composite_images/a0002_1_4.jpg' and len(first['refs']) == 4
    assert 'HAdobe5k/real_images/a0002.jpg' not in first['refs']
    config = tmp_path / 'retrieval.py'
    config.write_text(f'retriever = dict(type="HarmonizationRetriever", grid=2, content_threshold=-1, '
                      f'illumination_threshold=-1, encoder=dict(type="DenseContentEncoder", input_size=112, '
                      f'arch={TINY_VIT!r}))\n')
    run = subprocess.run([sys.executable, 'tools/build_raharmony4.py', root, '--config', str(config), '-k', '2',
                          '--splits', 'test'], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    from toolkit.datasets import read_reference_list
    lines = read_reference_list(os.path.join(root, 'IHD_test_retrieved.jsonl'))
    assert len(lines) == 6 and all(len(line['refs']) == 2 for line in lines)
    assert all(os.path.isfile(os.path.join(root, ref)) for line in lines for ref in line['refs'])
    run = subprocess.run([sys.executable, 'tools/retrieve.py', os.path.join(root, first['input']),
                          os.path.join(root, first['mask']), '--gallery', os.path.join(root, 'raharmony4_gallery'),
                          '--config', str(config), '-k', '3', '--out', str(tmp_path / 'r.json')],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    ranked = json.loads((tmp_path / 'r.json').read_text())
    assert len(ranked) == 3 and ranked[0]['content'] >= ranked[1]['content']
    run = subprocess.run([sys.executable, 'tools/retrieve.py', 'missing.jpg', 'missing.png', '--gallery',
                          str(tmp_path / 'nothing'), '--config', str(config)], cwd=REPO, capture_output=True,
                         text=True)
    assert run.returncode != 0 and 'no gallery here' in run.stderr
