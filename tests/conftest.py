"""Test set-up. Hub variables must be set before anything imports huggingface_hub (it reads them at import)."""
import os
import socket  # noqa: E402
import sys
import tempfile


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (the fake hub, torchrun rendezvous)."""
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


# the fake hub (tests/fake_hub.py) will listen here; huggingface_hub reads HF_ENDPOINT once, at import
FAKE_HUB_PORT = free_port()
_HUB_CACHE = tempfile.mkdtemp(prefix='harmonyzoo-hf-cache-')
os.environ['HF_HUB_DISABLE_TELEMETRY'] = '1'
os.environ['HF_HUB_OFFLINE'] = '1'  # tests that talk to the fake hub switch this off for themselves
os.environ['HF_ENDPOINT'] = f'http://127.0.0.1:{FAKE_HUB_PORT}'
os.environ['HF_HUB_CACHE'] = _HUB_CACHE
os.environ['HF_HOME'] = _HUB_CACHE
os.environ.pop('HF_TOKEN', None)

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
sys.path.insert(0, REPO_ROOT)

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(2)

SAMPLES_ROOT = os.path.join(REPO_ROOT, 'data', 'samples')
SHARED_DATA = os.path.abspath(os.path.join(REPO_ROOT, '..', 'shared', 'data'))


@pytest.fixture(scope='session')
def samples_root():
    return SAMPLES_ROOT


@pytest.fixture(scope='session')
def fake_hub_server():
    from tests.fake_hub import FakeHub
    hub = FakeHub(port=FAKE_HUB_PORT).start()
    yield hub
    hub.stop()


@pytest.fixture
def fake_hub(fake_hub_server, tmp_path, monkeypatch):
    """The fake hub, online, with an empty per-test cache (HF_HUB_CACHE)."""
    from huggingface_hub import constants
    assert constants.ENDPOINT == fake_hub_server.endpoint  # never the real hub
    cache = str(tmp_path / 'hf-cache')
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', False)
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', cache)
    fake_hub_server.requests.clear()
    fake_hub_server.cut_next_download = False
    fake_hub_server.cache_dir = cache
    return fake_hub_server


@pytest.fixture(scope='session', autouse=True)
def _toolkit_registered():
    from toolkit.setup_env import register_all_modules
    register_all_modules(init_default_scope=True, with_plugins=False)


def write_rgb(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, cv2.cvtColor(image, cv2.COLOR_RGB2BGR))


def write_gray(path, image):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    assert cv2.imwrite(path, image)

def subset_mean(per_image, values):
    """The mean per subset (a row's name's first folder), then over subsets: the selection's average, computed here
    independently of ``toolkit.benchmark.selection.mean_over_subsets``."""
    subsets = sorted({row['name'].split('/')[0] for row in per_image})
    return np.mean([np.mean([v for row, v in zip(per_image, values) if row['name'].startswith(s + '/')])
                    for s in subsets])


def random_state_dict(key_list: str, seed: int = 0, scale: float = 0.05, generator=None) -> dict:
    """Random tensors under the names and shapes of a released checkpoint's key list (``key AxBxC`` per line, ``#``
    comments), for testing converters without downloading the checkpoint. ``generator`` (else one seeded with
    ``seed``) lets a test keep drawing from the same stream."""
    generator = generator or torch.Generator().manual_seed(seed)
    state = {}
    with open(key_list, encoding='utf-8') as handle:
        for line in handle:
            if line.strip() and not line.startswith('#'):
                key, shape = line.split()
                state[key] = torch.randn(*map(int, shape.split('x')), generator=generator) * scale
    return state



def make_triplet(root, subset, real_name, fg=1, k=1, size=(40, 60), seed=0, ext='.jpg'):
    """Write composite/mask/real for one synthetic example; returns the composite file name."""
    rng = np.random.default_rng(seed)
    height, width = size
    real = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 4: 3 * height // 4, width // 4: 3 * width // 4] = 255
    composite = real.copy()
    composite[mask > 0] = (composite[mask > 0] * 0.5).astype(np.uint8)
    composite_name = f'{real_name}_{fg}_{k}{ext}'
    write_rgb(os.path.join(root, subset, 'real_images', real_name + ('.png' if ext == '.png' else '.jpg')), real)
    write_rgb(os.path.join(root, subset, 'composite_images', composite_name), composite)
    write_gray(os.path.join(root, subset, 'masks', f'{real_name}_{fg}.png'), mask)
    return composite_name


@pytest.fixture
def tiny_iharmony(tmp_path):
    """A synthetic iHarmony4 tree with two subsets, IHD and per-subset split files, dashed real names."""
    root = str(tmp_path / 'ihd')
    layout = {'HCOCO': ['c100300', 'c2'], 'Hday2night': ['d21901-20130410-181833']}
    ihd = {'train': [], 'test': []}
    for subset, names in layout.items():
        for index, real in enumerate(names):
            name = make_triplet(root, subset, real, fg=index + 1, k=9, seed=index, ext='.png')
            for split in ('train', 'test'):
                ihd[split].append(f'{subset}/composite_images/{name}')
                with open(os.path.join(root, subset, f'{subset}_{split}.txt'), 'a') as handle:
                    handle.write(name + '\n')
    for split, lines in ihd.items():
        with open(os.path.join(root, f'IHD_{split}.txt'), 'w') as handle:
            handle.write('\n'.join(lines) + '\n')
    return root
