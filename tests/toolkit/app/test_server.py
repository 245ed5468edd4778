"""The page's server without a browser: limits, queueing, clean-up, metrics, and what it listens on."""
import base64
import json
import os
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

from toolkit.app.server import AppError, HarmonizeApp, make_server
from toolkit.datasets import read_image, read_mask
from toolkit.metrics.harmonization_metric import native_image_metrics

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
RAINNET = os.path.join(REPO_ROOT, 'data', 'samples', 'RainNet')


def _upload(path):
    with open(path, 'rb') as handle:
        return dict(name=os.path.basename(path), data=base64.b64encode(handle.read()).decode())


@pytest.fixture
def running(tmp_path):
    server = make_server(port=0, max_upload_bytes=2 << 20)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f'http://127.0.0.1:{server.server_address[1]}'
    server.shutdown()
    server.server_close()
    server.app.close()


def _post(url, body):
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={'Content-Type': 'application/json'})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_listens_on_loopback_only_and_removes_its_files(running):
    server, url = running
    assert server.server_address[0] == '127.0.0.1'
    status, job = _post(url + '/api/inputs', dict(composite=_upload(os.path.join(RAINNET, 'composite_images',
                                                                                  'rainnet1_1_1.png')),
                                                 mask=_upload(os.path.join(RAINNET, 'masks', 'rainnet1_1.png'))))
    assert status == 200, job
    assert os.path.isdir(os.path.join(server.app.work_root, job['job']))
    root = server.app.work_root
    server.app.close()
    assert not os.path.exists(root)


def test_upload_limit_is_one_line(running):
    _, url = running
    big = dict(name='big.png', data=base64.b64encode(os.urandom(3 << 20)).decode())
    status, answer = _post(url + '/api/inputs', dict(composite=big, mask=big))
    assert status == 413 and 'upload too large' in answer['error'] and '\n' not in answer['error']


def test_sample_results_carry_native_resolution_metrics(tmp_path):
    app = HarmonizeApp(work_root=str(tmp_path))
    sample = next(row for row in app.samples() if row['name'].endswith('rainnet2_1_1.png'))
    job = app.inputs(dict(sample=sample['id']))
    result = app.harmonize(dict(job=job['job'], model='reinhard-lab'))
    output = read_image(os.path.join(tmp_path, job['job'], os.path.basename(result['url'])))
    expected = native_image_metrics(output, read_image(sample['real']), read_mask(sample['mask'], dtype=np.uint8),
                                    dict(name='toolkit-native', resolution=None))
    assert result['metrics']['fMSE'] == pytest.approx(expected['fMSE']) and result['metrics']['fMSE'] > 0
    assert job['real_url'] and result['width'] == output.shape[1]


def test_concurrent_requests_run_one_at_a_time(tmp_path, monkeypatch):
    app = HarmonizeApp(work_root=str(tmp_path))
    job = app.inputs(dict(composite=_upload(os.path.join(RAINNET, 'composite_images', 'rainnet1_1_1.png')),
                          mask=_upload(os.path.join(RAINNET, 'masks', 'rainnet1_1.png'))))
    harmonizer = app.harmonizer('reinhard-lab')
    running, overlaps = [], []
    original = type(harmonizer).harmonize_file

    def slow(self, *args, **kwargs):
        running.append(1)
        overlaps.append(len(running))
        time.sleep(0.2)
        try:
            return original(self, *args, **kwargs)
        finally:
            running.pop()

    monkeypatch.setattr(type(harmonizer), 'harmonize_file', slow)
    threads = [threading.Thread(target=app.harmonize, args=(dict(job=job['job'], model='reinhard-lab'),))
               for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert overlaps == [1, 1, 1]


def test_unknown_model_and_job_are_refused(tmp_path):
    app = HarmonizeApp(work_root=str(tmp_path))
    with pytest.raises(AppError, match='unknown job'):
        app.harmonize(dict(job='../etc', model='reinhard-lab'))
    job = app.inputs(dict(composite=_upload(os.path.join(RAINNET, 'composite_images', 'rainnet1_1_1.png')),
                          mask=_upload(os.path.join(RAINNET, 'masks', 'rainnet1_1.png'))))
    with pytest.raises(AppError, match='not a model this page can run'):
        app.harmonize(dict(job=job['job'], model='raiha_sgf_adam-60e_raharmony4-256'))


def test_strength_is_the_clis_and_is_checked(tmp_path):
    """A request's strength gives the same pixels as `Harmonizer(strength=…)` (the CLI's --strength), in its own
    file beside the full-strength one; strength 0 returns the composite; anything outside 0–1 is one line."""
    from toolkit.apis import Harmonizer
    app = HarmonizeApp(work_root=str(tmp_path))
    composite = os.path.join(RAINNET, 'composite_images', 'rainnet1_1_1.png')
    mask = os.path.join(RAINNET, 'masks', 'rainnet1_1.png')
    job = app.inputs(dict(composite=_upload(composite), mask=_upload(mask)))
    full = app.harmonize(dict(job=job['job'], model='reinhard-lab'))
    half = app.harmonize(dict(job=job['job'], model='reinhard-lab', strength=0.5))
    none = app.harmonize(dict(job=job['job'], model='reinhard-lab', strength=0))
    assert len({full['url'], half['url'], none['url']}) == 3 and half['strength'] == 0.5

    def shown(result):
        return read_image(os.path.join(tmp_path, job['job'], os.path.basename(result['url'])))
    expected = Harmonizer.from_pretrained('reinhard-lab', strength=0.5).harmonize(composite, mask)
    np.testing.assert_array_equal(shown(half), expected)
    assert not np.array_equal(shown(half), shown(full))
    np.testing.assert_array_equal(shown(none), read_image(composite))
    assert app.harmonizer('reinhard-lab').strength == 0.0  # set per request: the next one sets its own
    np.testing.assert_array_equal(shown(app.harmonize(dict(job=job['job'], model='reinhard-lab'))), shown(full))
    for bad in (1.5, -0.1, 'half', None, float('nan')):
        with pytest.raises(AppError, match='strength must be a number from 0 to 1') as error:
            app.harmonize(dict(job=job['job'], model='reinhard-lab', strength=bad))
        assert '\n' not in str(error.value)
