"""Raiha retrieval: patch descriptors, eqs. 3/5, the gallery store, FAISS vs exact, encoder hub loading, tools."""
import json
import os
import subprocess
import sys

import cv2
import numpy as np
import pytest
import torch

from tests.conftest import free_port, random_state_dict
from toolkit.datasets.io import read_image, read_mask
from toolkit.retrieval import (
    DenseContentEncoder,
    GalleryError,
    GalleryIndex,
    HarmonizationRetriever,
    QueryDescriptors,
    build_reference_lists,
    hsv_patch_histograms,
    list_gallery_images,
    pool_patch_features,
    score_gallery,
)

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
def _build_gallery(source, gallery, config) -> subprocess.CompletedProcess:
    """`tools/build_gallery.py SOURCE --gallery GALLERY --config CONFIG` in its own process (must succeed)."""
    built = subprocess.run([sys.executable, 'tools/build_gallery.py', str(source), '--gallery', str(gallery),
                            '--config', str(config)], cwd=REPO, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]
    return built


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


def test_faiss_search_returns_the_exact_top_k_at_the_shipped_settings(tmp_path):
    """FAISS k-NN + exact verification vs the exact path on 50 synthetic composites, at the default nprobe
    (16 of 1024 lists) and neighbours, i.e. the shipped settings, not an exhaustive probe."""
    from toolkit.benchmark.retrieval import synthetic_gallery, synthetic_queries
    gallery = synthetic_gallery(str(tmp_path / 'g'), 3000, grid=4, dim=96, bins=(4, 4, 2), chunk=1000)
    gallery.build_faiss()
    assert gallery.faiss_meta['codec'] == 'SQ4' and 0 < gallery.faiss_meta['score_error'] < 0.1
    encoder = torch.nn.Module()  # descriptors are given: only the gallery's width and identity are checked
    encoder.feature_dim, encoder.input_size, encoder.identity = 96, 112, gallery.meta['encoder']
    common = dict(gallery=str(tmp_path / 'g'), grid=4, hist_bins=(4, 4, 2))
    exact = HarmonizationRetriever(encoder, backend='brute', **common)
    approximate = HarmonizationRetriever(encoder, backend='faiss', **common)
    assert approximate.nprobe < gallery.faiss_meta['nlist']
    queries = synthetic_queries(gallery, 50)
    expected = exact.query_batch(queries, k=5)
    found = approximate.query_batch(queries, k=5)
    assert sum(len(r) for r in expected) >= 60   # the composites do have references (79 of 250 slots)
    same = sum([(r.path, round(r.score, 5)) for r in a] == [(r.path, round(r.score, 5)) for r in e]
               for a, e in zip(found, expected))
    assert same == 50
    assert np.mean(approximate.last_stats['verified']) < 0.1 * len(gallery)   # far fewer than all images
    # an illumination band (Table III) gives the exact path's answers too
    band = dict(illumination_threshold=0.5, illumination_max=0.95, **common)
    banded_exact = HarmonizationRetriever(encoder, backend='brute', **band).query_batch(queries[:20], k=5)
    banded = HarmonizationRetriever(encoder, backend='faiss', **band).query_batch(queries[:20], k=5)
    assert [[r.path for r in a] for a in banded] == [[r.path for r in a] for a in banded_exact]
    assert sum(len(r) for r in banded_exact) > 0
    # one at a time gives the same as the batch; exclusions are honoured
    first = expected[0][0].path
    assert [r.path for r in approximate.query(None, None, k=5, descriptors=queries[0])] == [r.path for r in found[0]]
    assert first not in [r.path for r in approximate.query(None, None, k=5, descriptors=queries[0], exclude=[first])]
    # incremental add extends the FAISS index too
    gallery = GalleryIndex.open(str(tmp_path / 'g'))
    gallery.add(['new.jpg'], np.asarray(gallery.content[:1], np.float32), np.asarray(gallery.hsv[:1], np.float32))
    assert gallery.faiss_index().ntotal == 3001 * 16


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
    with pytest.raises(ValueError, match=r'\(B, 3, H, W\)'):
        encoder(torch.rand(3, 112, 112))
    with pytest.raises(ValueError, match='needs weights'):
        DenseContentEncoder(arch=TINY_VIT, input_size=112, denoiser=dict(num_heads=2, pos_grid=4))


def test_encoder_resizes_with_antialiasing_and_normalises_like_imagenet():
    """Against an independent pipeline: PIL's antialiased bilinear resize of each channel, the ImageNet mean/std
    by hand, the ViT's patch tokens without the class and register tokens."""
    from PIL import Image
    encoder = tiny_encoder()
    image = torch.rand(1, 3, 150, 230)  # downscaled to 112: antialiasing matters
    resized = np.stack([np.asarray(Image.fromarray(channel.numpy(), mode='F').resize((112, 112), Image.BILINEAR))
                        for channel in image[0]])
    mean, std = np.array([0.485, 0.456, 0.406])[:, None, None], np.array([0.229, 0.224, 0.225])[:, None, None]
    pixels = torch.from_numpy(((resized - mean) / std).astype(np.float32))[None]
    with torch.no_grad():
        tokens = encoder.vit(pixel_values=pixels).last_hidden_state[:, 1 + 4:]   # class + 4 registers dropped
    expected = tokens.transpose(1, 2).reshape(1, 32, 8, 8)
    assert torch.allclose(encoder(image), expected, atol=1e-4)
    # the same image without antialiasing or without normalisation gives other features
    plain = torch.nn.functional.interpolate(image, size=(112, 112), mode='bilinear', align_corners=False)
    with torch.no_grad():
        aliased = encoder.vit(pixel_values=(plain - torch.tensor(mean, dtype=torch.float32)[None])
                              / torch.tensor(std, dtype=torch.float32)[None]).last_hidden_state[:, 5:]
        unnormalised = encoder.vit(pixel_values=pixels * torch.tensor(std, dtype=torch.float32)[None]
                                   + torch.tensor(mean, dtype=torch.float32)[None]).last_hidden_state[:, 5:]
    assert (aliased.transpose(1, 2).reshape(1, 32, 8, 8) - expected).abs().max() > 1e-2
    assert (unnormalised.transpose(1, 2).reshape(1, 32, 8, 8) - expected).abs().max() > 1e-2


DVT_KEYS = os.path.join(os.path.dirname(__file__), 'data', 'dvt_reg4_v1_denoiser_state_dict.txt')


def test_released_dvt_denoiser_converts_and_computes_the_released_block():
    """Key/shape list of the released denoiser (written from its code) → DVTDenoiser; then its forward against a
    written-out timm block: tokens + positional embedding resampled 37 → 32 with antialiased bicubic (PIL as the
    independent resampler), pre-norm attention and MLP."""
    from PIL import Image

    from toolkit.retrieval import DVTDenoiser
    from toolkit.retrieval.convert import convert_dvt_denoiser_state_dict
    generator = torch.Generator().manual_seed(0)
    released = random_state_dict(DVT_KEYS, generator=generator)
    denoiser = DVTDenoiser()
    denoiser.load_state_dict(convert_dvt_denoiser_state_dict({'denoiser': released}, denoiser), strict=True)
    features = torch.randn(1, 768, 32, 32, generator=generator)
    tokens37 = released['pos_embed'][0].reshape(37, 37, 768)
    pos = np.stack([np.asarray(Image.fromarray(tokens37[..., c].numpy(), mode='F').resize((32, 32), Image.BICUBIC))
                    for c in range(768)], axis=-1)
    x = features.flatten(2).transpose(1, 2) + torch.from_numpy(pos).reshape(1, 1024, 768)

    def layer_norm(t, name):
        return torch.nn.functional.layer_norm(t, (768,), released[f'denoiser.{name}.weight'],
                                              released[f'denoiser.{name}.bias'], eps=1e-6)

    qkv = layer_norm(x, 'norm1') @ released['denoiser.attn.qkv.weight'].T + released['denoiser.attn.qkv.bias']
    q, k, v = qkv.reshape(1, 1024, 3, 12, 64).permute(2, 0, 3, 1, 4)
    attended = torch.softmax(q @ k.transpose(-1, -2) / 8.0, dim=-1) @ v
    x = x + attended.transpose(1, 2).reshape(1, 1024, 768) @ released['denoiser.attn.proj.weight'].T \
        + released['denoiser.attn.proj.bias']
    hidden = torch.nn.functional.gelu(layer_norm(x, 'norm2') @ released['denoiser.mlp.fc1.weight'].T
                                      + released['denoiser.mlp.fc1.bias'])
    x = x + hidden @ released['denoiser.mlp.fc2.weight'].T + released['denoiser.mlp.fc2.bias']
    with torch.no_grad():
        assert torch.allclose(denoiser(features), x.transpose(1, 2).reshape(1, 768, 32, 32), atol=1e-4)
    with pytest.raises(KeyError, match='pos_embed'):
        convert_dvt_denoiser_state_dict(dict(released, pos_embed=torch.zeros(1, 1024, 768)), DVTDenoiser())


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


def test_gallery_build_sharded_over_torchrun_equals_one_process(tmp_path):
    """Two processes each index half of the new images into a shard; rank 0 merges them in order: the gallery
    equals a one-process build (same paths, same descriptors), masks and composites skipped, paths relative."""
    from safetensors.torch import save_file
    torch.manual_seed(0)
    encoder = DenseContentEncoder(arch=TINY_VIT, input_size=112)
    save_file(encoder.vit.state_dict(), str(tmp_path / 'model.safetensors'))
    (tmp_path / 'config.json').write_text(json.dumps(dict(TINY_VIT, num_register_tokens=4, layerscale_value=1.0,
                                                          layer_norm_eps=1e-6)))
    config = tmp_path / 'retrieval.py'
    config.write_text(f'retriever = dict(type="HarmonizationRetriever", grid=2, batch_size=2, num_workers=1, '
                      f'encoder=dict(type="DenseContentEncoder", input_size=112, '
                      f'weights=dict(path={str(tmp_path / "model.safetensors")!r})))\n')
    source = os.path.join(REPO, 'data', 'samples')
    single = _build_gallery(source, tmp_path / 'one', config)
    env = dict(os.environ, OMP_NUM_THREADS='1')
    sharded = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                              '--master_port', str(free_port()), 'tools/build_gallery.py', source,
                              '--gallery', str(tmp_path / 'two'), '--config', str(config)],
                             cwd=REPO, capture_output=True, text=True, env=env)
    assert sharded.returncode == 0, sharded.stderr[-2000:]
    assert 'rank 1:' in sharded.stdout and not any(name.startswith('two.shard') for name in os.listdir(tmp_path))
    one, two = GalleryIndex.open(str(tmp_path / 'one')), GalleryIndex.open(str(tmp_path / 'two'))
    assert one.paths == two.paths and len(one) == 5   # the 5 real images; 11 masks and composites skipped
    assert all(not os.path.isabs(path) and '/real_images/' in path for path in one.paths)
    np.testing.assert_allclose(np.asarray(one.content, np.float32), np.asarray(two.content, np.float32), atol=2e-3)
    np.testing.assert_array_equal(np.asarray(one.hsv), np.asarray(two.hsv))
    assert 'masks' in single.stdout and 'composites' in single.stdout


def test_illumination_band_bounds_eps_a_from_above():
    """Table III's "inconsistent illumination" references: the best same-content pair's HSV similarity must lie
    in [ε_a, ε_a_max]. One gallery image whose matching cell has appearance cosine 0.85 with the background."""
    angle = np.arccos(0.85)
    query = QueryDescriptors(torch.tensor([[1., 0.]]), torch.tensor([[0., 1.]]), torch.tensor([[1., 0.]]))
    content = torch.tensor([[[1., 0.], [0., 1.]]])
    hsv = torch.tensor([[[0., 1.], [float(np.cos(angle)), float(np.sin(angle))]]])
    scores = score_gallery(query, content, hsv, 0.7, 0.9)
    assert scores.illumination.item() == pytest.approx(0.85, abs=1e-6) and not scores.qualifies.item()
    assert score_gallery(query, content, hsv, 0.7, 0.8, illumination_max=0.9).qualifies.item()
    assert not score_gallery(query, content, hsv, 0.7, 0.7, illumination_max=0.8).qualifies.item()
    with pytest.raises(ValueError, match='illumination_max 0.8 is below'):
        HarmonizationRetriever(tiny_encoder(), illumination_threshold=0.9, illumination_max=0.8)


def test_random_encoder_is_seeded_identified_by_its_weights_and_warned_about(caplog):
    """With weights=None (the only offline option) every process used to draw its own random encoder, and the
    gallery's identity (`weights: None`) could not tell them apart."""
    import logging
    with caplog.at_level(logging.WARNING, logger='toolkit.retrieval.encoders'):
        first = DenseContentEncoder(arch=TINY_VIT, input_size=112)
    assert any('random weights' in record.getMessage() and 'meaningless' in record.getMessage()
               for record in caplog.records)
    torch.rand(100)  # whatever the caller's RNG did in between
    second = DenseContentEncoder(arch=TINY_VIT, input_size=112)
    other_seed = DenseContentEncoder(arch=TINY_VIT, input_size=112, random_seed=1)
    image = torch.rand(1, 3, 112, 112)
    with torch.no_grad():
        assert torch.equal(first(image), second(image))
    assert first.identity == second.identity and first.identity['weights']['state_sha256']
    assert other_seed.identity != first.identity


def test_gallery_and_query_from_two_processes_with_a_random_encoder_agree(tmp_path):
    """A gallery image queried with itself is its own best match when gallery and query run in two processes."""
    config = tmp_path / 'retrieval.py'
    config.write_text(f'retriever = dict(type="HarmonizationRetriever", grid=2, batch_size=2, num_workers=1, '
                      f'content_threshold=0.5, illumination_threshold=0.0, '
                      f'encoder=dict(type="DenseContentEncoder", input_size=112, arch={TINY_VIT!r}, weights=None))\n')
    source = os.path.join(REPO, 'data', 'samples')
    _build_gallery(source, tmp_path / 'g', config)
    real = os.path.join(source, 'HAdobe5k', 'real_images', 'a0002.jpg')
    mask = os.path.join(source, 'HAdobe5k', 'masks', 'a0002_1.png')
    out = tmp_path / 'refs.json'
    queried = subprocess.run([sys.executable, 'tools/retrieve.py', real, mask, '--gallery', str(tmp_path / 'g'),
                              '--config', str(config), '-k', '1', '--out', str(out)], cwd=REPO, capture_output=True,
                             text=True)
    assert queried.returncode == 0, queried.stderr[-2000:]
    found = json.loads(out.read_text())
    assert found and found[0]['path'].endswith('a0002.jpg') and found[0]['content'] > 0.99, found
