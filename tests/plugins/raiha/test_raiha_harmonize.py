"""Harmonizing with references from the CLI and the API: given images, a gallery's top match, and a model that takes
none; `harmony download` of a model's content encoder and offline use from the cache."""
import json
import os

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from toolkit.cli import main as harmony

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SAMPLES = os.path.join(REPO, 'data', 'samples', 'HAdobe5k')
COMPOSITE = os.path.join(SAMPLES, 'composite_images', 'a0002_1_4.jpg')
MASK = os.path.join(SAMPLES, 'masks', 'a0002_1.png')
TINY_VIT = dict(hidden_size=24, num_hidden_layers=1, num_attention_heads=2, patch_size=14, image_size=28,
                num_register_tokens=4, layerscale_value=1.0, layer_norm_eps=1e-6)


@pytest.fixture(scope='module')
def tiny_raiha(tmp_path_factory):
    """A tiny Raiha whose content encoder and generator weights are files, so every process builds the same model:
    ``(config path, checkpoint path, retrieval config path)``."""
    from safetensors.torch import save_file

    from toolkit.registry import MODELS
    from toolkit.retrieval import DenseContentEncoder
    folder = tmp_path_factory.mktemp('tiny-raiha')
    torch.manual_seed(0)
    encoder = DenseContentEncoder(arch=TINY_VIT, input_size=112)
    save_file(encoder.vit.state_dict(), str(folder / 'model.safetensors'))
    (folder / 'config.json').write_text(json.dumps(TINY_VIT))
    encoder_cfg = dict(type='DenseContentEncoder', input_size=112, weights=dict(path=str(folder / 'model.safetensors')))
    config = folder / 'raiha_tiny.py'
    config.write_text(f"_base_ = [{os.path.join(REPO, 'configs/raiha/raiha-tiny_sgf_adam-20i_samples-64.py')!r}]\n"
                      f"model = dict(content_encoder=dict(_delete_=True, **{encoder_cfg!r}))\n")
    from mmengine.config import Config

    import plugins.raiha  # noqa: F401
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    for parameter in model.generator.parameters():  # away from the zero init so references matter visibly
        parameter.data.normal_(0, 0.1)
    save_file({key: value.contiguous().clone() for key, value in model.state_dict().items()},
              str(folder / 'generator.safetensors'))
    retrieval = folder / 'retrieval.py'
    retrieval.write_text(f'retriever = dict(type="HarmonizationRetriever", grid=2, content_threshold=-1, '
                         f'illumination_threshold=-1, encoder={encoder_cfg!r})\n')
    return str(config), str(folder / 'generator.safetensors'), str(retrieval)


def read(path):
    from toolkit.datasets import read_image
    return read_image(path).astype(int)


def test_cli_reference_changes_the_output_and_the_gallery_gives_its_best_match(tiny_raiha, tmp_path):
    config, checkpoint, retrieval = tiny_raiha
    model = f'{config}:{checkpoint}'
    reference = os.path.join(REPO, 'data', 'samples', 'HCOCO', 'real_images', 'c12345.jpg')
    if not os.path.isfile(reference):
        reference = next(os.path.join(root, name) for root, _, names in os.walk(os.path.join(REPO, 'data', 'samples'))
                         for name in sorted(names) if '/real_images' in root and 'a0002' not in name)
    runner = CliRunner()
    plain = runner.invoke(harmony, ['harmonize', '-m', model, COMPOSITE, MASK, '-o', str(tmp_path / 'plain.png')])
    assert plain.exit_code == 0, plain.output
    guided = runner.invoke(harmony, ['harmonize', '-m', model, COMPOSITE, MASK, '--reference', reference,
                                     '-o', str(tmp_path / 'guided.png')])
    assert guided.exit_code == 0, guided.output
    difference = np.abs(read(str(tmp_path / 'plain.png')) - read(str(tmp_path / 'guided.png')))
    assert difference.max() > 0                                             # the reference is used …
    from toolkit.datasets import read_mask
    assert difference[read_mask(MASK) == 0].max() == 0                      # … and only the foreground changes

    # a gallery of the sample targets: the best match is printed and used, exactly like giving it by hand
    gallery = str(tmp_path / 'gallery')
    import subprocess
    import sys
    built = subprocess.run([sys.executable, 'tools/build_gallery.py', os.path.join(REPO, 'data', 'samples'),
                            '--gallery', gallery, '--config', retrieval], cwd=REPO, capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    assert 'skipped' in built.stdout and 'masks' in built.stdout            # masks and composites are not indexed
    with open(os.path.join(gallery, 'paths.txt'), encoding='utf-8') as handle:
        stored = handle.read().split()
    assert stored and all(not os.path.isabs(path) and '/real_images/' in path for path in stored)
    retrieved = runner.invoke(harmony, ['harmonize', '-m', model, COMPOSITE, MASK, '--gallery', gallery,
                                        '--retrieval-config', retrieval, '-o', str(tmp_path / 'retrieved.png')])
    assert retrieved.exit_code == 0, retrieved.output
    line = next(line for line in retrieved.output.splitlines() if 'reference 1:' in line)
    used = line.split('reference 1: ')[1].split(' (content')[0]
    assert 'illumination' in line and os.path.isfile(used)
    by_hand = runner.invoke(harmony, ['harmonize', '-m', model, COMPOSITE, MASK, '--reference', used,
                                      '-o', str(tmp_path / 'by_hand.png')])
    assert by_hand.exit_code == 0, by_hand.output
    assert np.array_equal(read(str(tmp_path / 'retrieved.png')), read(str(tmp_path / 'by_hand.png')))


def test_api_references_and_refusals(tiny_raiha, tmp_path):
    from toolkit.apis import Harmonizer
    config, checkpoint, _ = tiny_raiha
    harmonizer = Harmonizer.from_pretrained(config, checkpoint, device='cpu')
    assert harmonizer.uses_references
    image = np.asarray(read(COMPOSITE), np.uint8)
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    one = harmonizer.harmonize(COMPOSITE, MASK, references=[reference])
    # a batch where only the second composite has a reference: the first equals the plain output
    plain = harmonizer.harmonize(COMPOSITE, MASK)
    both = harmonizer.harmonize([image, image], [MASK, MASK], references=[[], [reference]])
    assert np.array_equal(both[0], plain) and np.array_equal(both[1], one)
    assert not np.array_equal(one, plain)
    with pytest.raises(ValueError, match='reference lists'):
        harmonizer.harmonize([image, image], [MASK, MASK], references=[[reference]])
    runner = CliRunner()
    refused = runner.invoke(harmony, ['harmonize', '-m', 'reinhard-lab', COMPOSITE, MASK, '--reference', COMPOSITE,
                                      '-o', str(tmp_path / 'x.png')])
    assert refused.exit_code != 0 and 'does not take references' in refused.output
    assert not os.path.exists(tmp_path / 'x.png')
    missing = runner.invoke(harmony, ['harmonize', '-m', f'{config}:{checkpoint}', COMPOSITE, MASK,
                                      '--reference', str(tmp_path / 'nope.jpg'), '-o', str(tmp_path / 'y.png')])
    assert missing.exit_code != 0 and 'nope.jpg' in missing.output and 'Traceback' not in missing.output


def test_download_fetches_the_content_encoder_and_offline_use_needs_no_network(fake_hub, tmp_path, monkeypatch):
    """`harmony download` of a Raiha model caches its pinned content encoder (config + weights, sha256-checked);
    then, offline, the model builds from the cache without a single request. A model without released generator
    weights is refused first, before any encoder is fetched (issue 22: it used to fail on the encoder)."""
    import hashlib

    import yaml
    from safetensors.torch import save, save_file

    from toolkit import zoo
    from toolkit.retrieval import DenseContentEncoder
    torch.manual_seed(1)
    source = DenseContentEncoder(arch=TINY_VIT, input_size=112, random_seed=1)
    weights, config = save(source.vit.state_dict()), json.dumps(TINY_VIT).encode()
    sha = fake_hub.add_commit('org/tiny-dinov2', {'config.json': config, 'model.safetensors': weights})
    digests = {'model.safetensors': hashlib.sha256(weights).hexdigest(),
               'config.json': hashlib.sha256(config).hexdigest()}
    model_config = tmp_path / 'raiha_hub.py'
    model_config.write_text(
        f"_base_ = [{os.path.join(REPO, 'configs/raiha/raiha-tiny_sgf_adam-20i_samples-64.py')!r}]\n"
        f"model = dict(content_encoder=dict(_delete_=True, type='DenseContentEncoder', input_size=112, weights=dict("
        f"repo_id='org/tiny-dinov2', revision={sha!r}, filename='model.safetensors', sha256={digests!r})))\n")
    index = tmp_path / 'model-index.yml'
    entries = [{'Name': 'raiha-unreleased', 'In Collection': 'Raiha', 'Config': str(model_config), 'Weights': None}]
    index.write_text(yaml.safe_dump({'Collections': [{'Name': 'Raiha'}], 'Models': entries}))
    monkeypatch.setenv(zoo.INDEX_ENV, str(index))
    # unreleased generator: said at once, nothing fetched (download and harmonize alike)
    for command in (['download', 'raiha-unreleased'],
                    ['harmonize', '-m', 'raiha-unreleased', COMPOSITE, MASK, '-o', str(tmp_path / 'o.png')]):
        result = CliRunner().invoke(harmony, command)
        assert result.exit_code != 0 and 'no weights have been released' in result.output, result.output
        assert len(result.output.strip().splitlines()) == 1 and not fake_hub.requests, result.output
    # released generator weights (bundled here): download verifies them and caches the pinned encoder
    generator = zoo.get_model('raiha-unreleased', pretrained=False)
    generator_file = tmp_path / 'raiha-hub-test.safetensors'
    save_file({key: value.clone().contiguous() for key, value in generator.state_dict().items()}, str(generator_file))
    entries.append({'Name': 'raiha-hub-test', 'In Collection': 'Raiha', 'Config': str(model_config), 'Weights': {
        'file': str(generator_file), 'sha256': hashlib.sha256(generator_file.read_bytes()).hexdigest()}})
    index.write_text(yaml.safe_dump({'Collections': [{'Name': 'Raiha'}], 'Models': entries}))
    result = CliRunner().invoke(harmony, ['download', 'raiha-hub-test'])
    assert 'content encoder config verified' in result.output and 'content encoder verified' in result.output
    assert result.exit_code == 0 and 'bundled with HarmonyZoo, verified' in result.output, result.output
    assert any(f'/resolve/{sha}/model.safetensors' in url for _, url, _ in fake_hub.requests)
    # offline: from the cache, no request at all
    fake_hub.requests.clear()
    from huggingface_hub import constants
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    model = zoo.get_model('raiha-hub-test', pretrained=True)
    assert not fake_hub.requests
    image = torch.rand(1, 3, 112, 112)
    with torch.no_grad():
        assert torch.allclose(model.content_encoder(image), source(image), atol=1e-6)
    assert model.content_encoder.identity['weights']['revision'] == sha
