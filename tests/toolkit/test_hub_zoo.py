"""Hub client, model zoo, publish and the hf:// scheme, against the fake hub on 127.0.0.1."""
import json
import os
import pickle

import numpy as np
import pytest
import torch
import yaml
from mmengine.runner.checkpoint import CheckpointLoader
from safetensors.torch import save

from toolkit import zoo
from toolkit.hub import HubError, HubWeights, WeightsMismatchError, download_weights, file_sha256, load_state_dict_file

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
TINY_CONFIG = os.path.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-20i_samples-64.py')
REPO = 'harmonyzoo-test/unet-tiny'


def tiny_state_dict(seed=0):
    from mmengine.config import Config
    from mmengine.registry import DefaultScope

    from toolkit.registry import MODELS
    torch.manual_seed(seed)
    with DefaultScope.overwrite_default_scope('toolkit'):
        model = MODELS.build(Config.fromfile(TINY_CONFIG).model)
    return {key: value.contiguous() for key, value in model.state_dict().items()}


@pytest.fixture
def published(fake_hub, tmp_path, monkeypatch):
    """Tiny UNet weights on the fake hub and a model index that lists them."""
    return publish_tiny_unet(fake_hub, tmp_path, monkeypatch)


def publish_tiny_unet(fake_hub, tmp_path, monkeypatch) -> HubWeights:
    """Put tiny UNet weights on the fake hub and point the zoo at an index that lists them (``unet-tiny-test``)."""
    data = save(tiny_state_dict())
    sha = fake_hub.add_commit(REPO, {'model.safetensors': data, 'README.md': b'# tiny'})
    weights = dict(repo_id=REPO, revision=sha, filename='model.safetensors',
                   sha256=__import__('hashlib').sha256(data).hexdigest(), size=len(data))
    index = tmp_path / 'model-index.yml'
    index.write_text(yaml.safe_dump({'Collections': [{'Name': 'UNet'}], 'Models': [
        {'Name': 'unet-tiny-test', 'In Collection': 'UNet', 'Config': TINY_CONFIG, 'Weights': weights},
        {'Name': 'reinhard-lab', 'Config': os.path.join(REPO_ROOT, 'configs', 'baselines',
                                                        'reinhard-lab_iharmony4-256.py'), 'Weights': None}]}))
    monkeypatch.setenv(zoo.INDEX_ENV, str(index))
    return HubWeights(**weights)


def test_download_verify_and_reuse_cache(published, fake_hub, monkeypatch):
    path = download_weights(published)
    assert file_sha256(path) == published.sha256
    assert any(method == 'GET' and f'/resolve/{published.revision}/model.safetensors' in url
               for method, url, _ in fake_hub.requests)
    # cached: works offline without a single request
    fake_hub.requests.clear()
    from huggingface_hub import constants
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    assert download_weights(published) == path and not fake_hub.requests


def test_offline_with_empty_cache_says_what_to_do(published, monkeypatch):
    from huggingface_hub import constants
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    with pytest.raises(HubError, match=r'model.safetensors is not in the local cache .*harmony download'):
        download_weights(published)


def test_missing_revision_repo_and_file(published):
    with pytest.raises(HubError, match='revision 0{40} does not exist'):
        download_weights(HubWeights(REPO, '0' * 40, 'model.safetensors'))
    with pytest.raises(HubError, match='repository nobody/nothing not found'):
        download_weights(HubWeights('nobody/nothing', published.revision, 'model.safetensors'))
    with pytest.raises(HubError, match='no file other.bin'):
        download_weights(HubWeights(REPO, published.revision, 'other.bin'))


def test_branches_are_refused():
    with pytest.raises(HubError, match='not a 40-character commit hash'):
        HubWeights(REPO, 'main', 'model.safetensors')


def test_checksum_mismatch_deletes_the_blob(published):
    wrong = HubWeights(published.repo_id, published.revision, published.filename, sha256='0' * 64)
    with pytest.raises(HubError, match='does not match the expected 0{64}; the corrupt cached blob was deleted'):
        download_weights(wrong)
    # the next call downloads afresh and verifies
    path = download_weights(published)
    assert file_sha256(path) == published.sha256


def test_interrupted_download_resumes(published, fake_hub, monkeypatch):
    from huggingface_hub import constants
    # huggingface_hub writes in 10 MB chunks; use small ones so the cut leaves a partial file to resume
    monkeypatch.setattr(constants, 'DOWNLOAD_CHUNK_SIZE', 16 * 1024)
    fake_hub.cut_next_download = True
    path = download_weights(published)
    assert file_sha256(path) == published.sha256
    ranged = [headers for method, _, headers in fake_hub.requests
              if method == 'GET' and any(key.lower() == 'range' for key in headers)]
    assert ranged, 'the second request should ask for the missing bytes only'
    start = int(next(v for k, v in ranged[0].items() if k.lower() == 'range').split('=')[1].rstrip('-'))
    assert 0 < start <= published.size // 2


def test_get_model_loads_released_weights(published):
    model = zoo.get_model('unet-tiny-test', pretrained=True)
    expected = tiny_state_dict()
    for key, value in model.state_dict().items():
        assert torch.equal(value, expected[key]), key
    assert zoo.is_cached('unet-tiny-test')
    assert zoo.list_models('unet*') == ['unet-tiny-test']
    with pytest.raises(KeyError, match="unknown model 'unet-tiny-tset'; did you mean unet-tiny-test"):
        zoo.get_model_info('unet-tiny-tset')


def test_wrong_keys_are_listed(fake_hub, published, tmp_path, monkeypatch):
    state = tiny_state_dict()
    state.pop('backbone.head.bias')
    state['extra.weight'] = torch.zeros(1)
    data = save(state)
    sha = fake_hub.add_commit(REPO, {'model.safetensors': data})
    weights = HubWeights(REPO, sha, 'model.safetensors', __import__('hashlib').sha256(data).hexdigest(), len(data))
    from toolkit.hub import load_weights
    model = zoo.get_model('unet-tiny-test', pretrained=False)
    with pytest.raises(WeightsMismatchError, match=r'missing keys \(1\): backbone.head.bias[\s\S]*unexpected keys '
                                                   r'\(1\): extra.weight'):
        load_weights(model, download_weights(weights))


def test_hf_uri_in_configs(published):
    uri = published.uri
    assert uri == f'hf://{REPO}@{published.revision}/model.safetensors'
    state = CheckpointLoader.load_checkpoint(uri, map_location='cpu')
    assert set(state) == set(tiny_state_dict())


def test_pickles_are_never_loaded(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (os.system, ('echo pwned',))

    path = tmp_path / 'weights.pth'
    path.write_bytes(pickle.dumps({'w': Exploit()}, protocol=2))
    with pytest.raises(HubError, match=r'weights.pth: cannot be read with torch.load\(weights_only=True\)'):
        load_state_dict_file(str(path))


def test_fake_hub_revision_and_tree_apis(published):
    from huggingface_hub import HfApi
    info = HfApi().model_info(REPO, revision=published.revision)
    assert info.sha == published.revision and {s.rfilename for s in info.siblings} == {'model.safetensors',
                                                                                       'README.md'}
    files = {item.path for item in HfApi().list_repo_tree(REPO, revision=published.revision)}
    assert files == {'model.safetensors', 'README.md'}


def test_publish_dry_run_then_download(fake_hub, tmp_path, monkeypatch):
    from toolkit.publish import export_for_hub, metafile_entry
    checkpoint = tmp_path / 'iter_20.pth'
    torch.save({'state_dict': tiny_state_dict(seed=3), 'meta': {'iter': 20}}, checkpoint)
    # a real evaluation of that checkpoint (tools/test.py's report) goes into the model card and the metafile entry
    from toolkit.engine.launch import test as run_test
    report_path = str(tmp_path / 'report.json')
    run_test(TINY_CONFIG, str(checkpoint), work_dir=str(tmp_path / 'eval'), out=report_path)
    report = json.load(open(report_path))
    export = export_for_hub(TINY_CONFIG, str(checkpoint), str(tmp_path / 'export'), name='unet-tiny-pub',
                            results_json=report_path)
    folder = tmp_path / 'export'
    assert {p.name for p in folder.iterdir()} == {'model.safetensors', 'config.py', 'README.md'}
    card = (folder / 'README.md').read_text()
    assert 'library_name: harmonyzoo' in card and '## Licence' in card and '## Citation' in card
    overall = report['model']['subsets']['All']
    assert f"| All | {overall['N']} | {overall['MSE']:.2f} | {overall['fMSE']:.2f} | {overall['PSNR']:.2f}" in card
    assert f"Metric profile `{report['profile']['name']}`" in card
    results = {row['Subset']: row for row in export['results']}
    assert set(results) == set(report['model']['subsets'])
    assert results['All']['Metrics']['PSNR'] == round(overall['PSNR'], 4)
    assert results['All']['Metric Profile'] == report['profile']['name']
    # what the upload would publish, served by the fake hub, then used through a pasted metafile entry
    sha = fake_hub.add_commit('harmonyzoo-test/published', {
        name: (folder / name).read_bytes() for name in ('model.safetensors', 'config.py', 'README.md')})
    entry = yaml.safe_load(metafile_entry(export, TINY_CONFIG, 'harmonyzoo-test/published', sha))[0]
    entry['Config'] = TINY_CONFIG
    index = tmp_path / 'index.yml'
    index.write_text(yaml.safe_dump({'Models': [entry]}))
    monkeypatch.setenv(zoo.INDEX_ENV, str(index))
    model = zoo.get_model('unet-tiny-pub')
    assert torch.equal(model.state_dict()['backbone.head.weight'], tiny_state_dict(seed=3)['backbone.head.weight'])


def test_publish_upload_calls_the_hub_api(tmp_path, monkeypatch):
    import huggingface_hub

    from toolkit.publish import upload
    calls = []

    class Commit:
        oid = 'a' * 40

    monkeypatch.setattr(huggingface_hub.HfApi, 'create_repo', lambda self, repo_id, exist_ok: calls.append(repo_id))
    monkeypatch.setattr(huggingface_hub.HfApi, 'upload_folder',
                        lambda self, folder_path, repo_id, commit_message: calls.append(folder_path) or Commit())
    assert upload(str(tmp_path), 'org/name') == 'a' * 40
    assert calls == ['org/name', str(tmp_path)]


def test_demo_lists_zoo_models_with_local_weights(published, monkeypatch):
    from toolkit.benchmark.demo import local_zoo_models
    assert local_zoo_models() == []  # nothing downloaded yet, and the demo never downloads
    download_weights(published)
    assert local_zoo_models() == ['unet-tiny-test']


# ---------------------------------------------------------------------------------------------- bundled weights
def _default_bundled_models():
    """The zoo models whose bundled files the default loads: itself, or (an ensemble) each member, as
    ``[(state-dict prefix, ZooModel)]``."""
    info = zoo.get_model_info(zoo.default_model_name())
    if isinstance(info.weights, zoo.EnsembleWeights):
        return [(f'members.{k}.', zoo.get_model_info(member)) for k, member in enumerate(info.weights.members)]
    return [('', info)]


def test_bundled_default_model_loads_offline_and_refuses_a_modified_file(tmp_path, monkeypatch):
    """The default model's weights (an ensemble's: its members') ship with HarmonyZoo: loaded with no network
    (offline mode, no hub running), checked against the index's sha256; a modified copy is refused, naming the
    file."""
    import shutil

    from huggingface_hub import constants
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    name = zoo.default_model_name()
    assert zoo.get_model_info(name).weights_status == 'bundled'
    model = zoo.get_model(name)
    from toolkit.hub import load_state_dict_file
    for prefix, info in _default_bundled_models():
        assert isinstance(info.weights, zoo.BundledWeights)
        assert os.path.getsize(info.weights.path) <= 10 * 2 ** 20
        assert file_sha256(info.weights.path) == info.weights.sha256
        state = load_state_dict_file(info.weights.path)
        key = next(iter(state))
        assert torch.equal(model.state_dict()[prefix + key].to(state[key].dtype), state[key])
    tampered = tmp_path / 'weights.safetensors'
    shutil.copy(info.weights.path, tampered)
    data = bytearray(tampered.read_bytes())
    data[-1] ^= 0xFF
    tampered.write_bytes(bytes(data))
    with pytest.raises(HubError, match=r'weights.safetensors: sha256 .* does not match the model index'):
        zoo.BundledWeights(str(tampered), info.weights.sha256, info.weights.size).verified_path()
    with pytest.raises(HubError, match='bundled weights file is missing'):
        zoo.BundledWeights(str(tmp_path / 'gone.safetensors'), info.weights.sha256).verified_path()


def test_every_bundled_model_loads_offline_within_the_budget(monkeypatch):
    """Each file in weights/ is listed by exactly one zoo model, matches its sha256 and size, loads strictly into
    its config's model with no network, and all of them fit the 10 MB bundle budget."""
    from huggingface_hub import constants

    from toolkit.apis import Harmonizer
    from toolkit.publish import BUNDLE_BUDGET
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    folder = os.path.join(REPO_ROOT, 'weights')
    files = sorted(name for name in os.listdir(folder) if name.endswith('.safetensors'))
    bundled = {name: info for name, info in zoo.load_index().items() if isinstance(info.weights, zoo.BundledWeights)}
    assert sorted(os.path.basename(info.weights.path) for info in bundled.values()) == files
    assert sum(os.path.getsize(os.path.join(folder, name)) for name in files) <= BUNDLE_BUDGET
    composite = np.random.default_rng(0).integers(40, 200, (64, 80, 3), dtype=np.uint8)
    mask = np.zeros((64, 80), np.uint8)
    mask[16:48, 20:60] = 255
    for name, info in bundled.items():
        assert info.weights_status == 'bundled'
        assert file_sha256(info.weights.path) == info.weights.sha256
        assert os.path.getsize(info.weights.path) == info.weights.size
        output = Harmonizer.from_pretrained(name).harmonize(composite, mask)  # strict load, offline
        assert output.shape == composite.shape and output.dtype == np.uint8
        assert np.array_equal(output[mask == 0], composite[mask == 0]), name  # background untouched


def test_default_model_is_marked_and_used_without_model(tmp_path):
    from click.testing import CliRunner

    from toolkit.apis import Harmonizer
    from toolkit.cli import main as harmony
    name = zoo.default_model_name()
    listing = CliRunner().invoke(harmony, ['list'])
    assert listing.exit_code == 0
    line = next(line for line in listing.output.splitlines() if name in line)  # piped: tab-separated columns
    assert line.split('\t')[:2] == ['*', name] and 'bundled' in line
    assert listing.output.splitlines()[0].split('\t')[0] == 'default'
    composite = os.path.join(REPO_ROOT, 'data', 'samples', 'RainNet', 'composite_images', 'rainnet1_1_1.png')
    mask = os.path.join(REPO_ROOT, 'data', 'samples', 'RainNet', 'masks', 'rainnet1_1.png')
    out = tmp_path / 'out.png'
    result = CliRunner().invoke(harmony, ['harmonize', composite, mask, '-o', str(out)])
    assert result.exit_code == 0, result.output
    from toolkit.datasets import read_image
    expected = Harmonizer.from_pretrained(name, device='cpu').harmonize(composite, mask)
    assert np.array_equal(read_image(str(out)), expected)
    assert Harmonizer.from_pretrained(device='cpu').model.zoo_name == name


def test_download_tells_the_truth_for_each_kind_of_model(published, fake_hub):
    from click.testing import CliRunner

    from toolkit.cli import main as harmony
    runner = CliRunner()
    hub = runner.invoke(harmony, ['download', 'unet-tiny-test'])
    assert hub.exit_code == 0 and 'downloaded, verified' in hub.output
    again = runner.invoke(harmony, ['download', 'unet-tiny-test'])
    assert again.exit_code == 0 and 'already cached, verified' in again.output
    # in this index reinhard-lab is listed without `Learned: false`: a learned model whose weights are not out
    unreleased = runner.invoke(harmony, ['download', 'reinhard-lab'])
    assert unreleased.exit_code == 1 and 'no weights have been released' in unreleased.output


def test_download_statuses_of_the_shipped_index():
    from click.testing import CliRunner

    from toolkit.cli import main as harmony
    runner = CliRunner()
    bundled = runner.invoke(harmony, ['download', zoo.default_model_name()])
    assert bundled.exit_code == 0 and 'bundled with HarmonyZoo, verified' in bundled.output
    baseline = runner.invoke(harmony, ['download', 'reinhard-lab'])
    assert baseline.exit_code == 0 and 'non-learned model, no weights needed' in baseline.output
    unreleased = runner.invoke(harmony, ['download', 'rainnet_l1-100_adam-200e_iharmony4-256'])
    assert unreleased.exit_code == 1 and 'no weights have been released' in unreleased.output
    assert 'no weights needed' not in unreleased.output


def test_list_says_which_models_are_for_comparison_only():
    from click.testing import CliRunner

    from toolkit.cli import main as harmony
    runner = CliRunner()
    marked = [name for name, info in zoo.load_index().items() if info.metadata.get('Use')]
    assert 'rainnet-s_l1-100_adam-12k-warm-24k_matched-256' in marked and zoo.default_model_name() not in marked
    rainnet = runner.invoke(harmony, ['list', 'rainnet-s_l1-100_adam-12k-warm-24k*'])
    stage1 = runner.invoke(harmony, ['list', 'colorcurves_adam-6k_lalonde*'])
    default = runner.invoke(harmony, ['list', zoo.default_model_name()])
    assert rainnet.exit_code == stage1.exit_code == default.exit_code == 0
    # neither ships in the bundle any more (the bundle's rule); the listing still says what they are
    assert 'withdrawn (comparison only)' in ' '.join(rainnet.output.split())
    assert 'superseded by colorcurves_adam-6k-warm-3k_matched-256 (comparison only)' in ' '.join(stage1.output.split())
    assert 'comparison' not in default.output and 'bundled' in default.output


@pytest.fixture
def network_guard(monkeypatch):
    """Every attempt to open a network connection is refused and recorded: what runs under it is offline."""
    import socket
    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args[1:] if args and isinstance(args[0], socket.socket) else args)
        raise ConnectionRefusedError('network access attempted in an offline test')

    monkeypatch.setattr(socket.socket, 'connect', refuse)
    monkeypatch.setattr(socket.socket, 'connect_ex', refuse)
    monkeypatch.setattr(socket, 'create_connection', refuse)
    return attempts


def test_tampered_bundled_weights_are_refused_by_get_model_harmonizer_and_cli_offline(tmp_path, monkeypatch,
                                                                                      network_guard):
    """A bundled file changed by one byte (same size) is refused wherever a model is built, without a request."""
    import shutil

    from click.testing import CliRunner

    from toolkit.apis import Harmonizer
    from toolkit.cli import main as harmony
    info = _default_bundled_models()[0][1]  # the default (an ensemble's first member)
    intact, tampered = tmp_path / 'intact.safetensors', tmp_path / 'tampered.safetensors'
    shutil.copy(info.weights.path, intact)
    data = bytearray(intact.read_bytes())
    data[-1] ^= 0x01  # one bit of one weight
    tampered.write_bytes(bytes(data))
    entries = [{'Name': model, 'In Collection': 'ColorCurves', 'Config': info.config,
                'Weights': {'file': str(path), 'sha256': info.weights.sha256, 'size': info.weights.size}}
               for model, path in (('intact-copy', intact), ('tampered-copy', tampered))]
    index = tmp_path / 'model-index.yml'
    index.write_text(yaml.safe_dump({'Collections': [{'Name': 'ColorCurves'}], 'Models': entries}))
    monkeypatch.setenv(zoo.INDEX_ENV, str(index))
    assert zoo.get_model('intact-copy') is not None  # the guard does not stop legitimate offline use
    with pytest.raises(HubError, match='does not match the model index'):
        zoo.get_model('tampered-copy')
    with pytest.raises(HubError, match='does not match the model index'):
        Harmonizer.from_pretrained('tampered-copy')
    composite = os.path.join(REPO_ROOT, 'data', 'samples', 'RainNet', 'composite_images', 'rainnet1_1_1.png')
    mask = os.path.join(REPO_ROOT, 'data', 'samples', 'RainNet', 'masks', 'rainnet1_1.png')
    result = CliRunner().invoke(harmony, ['harmonize', '-m', 'tampered-copy', composite, mask, '-o',
                                          str(tmp_path / 'out.png')])
    assert result.exit_code == 1 and len(result.output.strip().splitlines()) == 1, result.output
    assert 'tampered.safetensors' in result.output and 'sha256' in result.output
    assert not (tmp_path / 'out.png').exists()
    assert network_guard == []


def test_bundling_over_the_budget_is_refused_and_keeps_the_previous_file(tmp_path):
    """The budget check lives in the package (it was a tool's inline code, reachable only through a subprocess),
    and refusing a new version no longer deletes the old one."""
    from safetensors.torch import save_file

    from toolkit.models import build_model_from_config
    from toolkit.publish import BundleBudgetError, bundle_weights
    model, _ = build_model_from_config(TINY_CONFIG)
    checkpoint = tmp_path / 'tiny.safetensors'
    save_file({key: value.contiguous() for key, value in model.state_dict().items()}, str(checkpoint))
    folder = tmp_path / 'weights'
    pairs = [(np.full((32, 32, 3), 120, np.uint8), np.pad(np.ones((16, 16), np.float32), 8))]
    first = bundle_weights(TINY_CONFIG, str(checkpoint), 'tiny', str(folder), pairs)
    size = first['size']
    assert first['bundled_total'] == size and os.path.getsize(first['file']) == size
    (folder / 'other.safetensors').write_bytes(b'x' * 1000)
    with pytest.raises(BundleBudgetError, match=f'{size + 1000:,} bytes, over the {size + 999:,}-byte budget'):
        bundle_weights(TINY_CONFIG, str(checkpoint), 'tiny', str(folder), pairs, budget=size + 999)
    assert file_sha256(first['file']) == first['sha256']  # the previous version is still there
    assert sorted(os.listdir(folder)) == ['other.safetensors', 'tiny.safetensors']  # no temporary left
    again = bundle_weights(TINY_CONFIG, str(checkpoint), 'tiny', str(folder), pairs, budget=size + 1000)
    assert again['bundled_total'] == size + 1000  # the file it replaces is not counted twice
