"""``harmony app``: a local page to compose, harmonize and compare zoo models side by side, offline.

Why a small standard-library server rather than Gradio (the field's convention for demo pages): the page must
work offline on a researcher's or photographer's own machine, show and download results at full resolution
pixel for pixel, and be tested in a real browser in CI. Gradio brings ~40 packages (FastAPI, pandas, pydantic…)
with their own pins against our stack, loads web fonts from a CDN, and re-encodes images between components;
this server is ~400 lines on ``http.server`` with a static page (HTML/CSS/JS, no build step), runs every model
through the same :class:`~toolkit.apis.Harmonizer` calls as the CLI, and serves the CLI's exact output files.
Hosting it (e.g. as a Docker Space) is the same command with ``--host 0.0.0.0``.

Design:

* one process, one worker: requests are accepted concurrently but models run one at a time (a lock queues
  them), so two users of one page never fight for the CPU or for memory;
* every upload is written to a job folder in a temporary directory that is removed when the server stops (and
  old jobs are pruned); uploads are limited in size (``--max-upload-mb``) and pixels;
* bad input gets the CLI's one-line message (the same :meth:`Harmonizer.prepare` checks), with the job
  folder's path taken out of it;
* it listens on 127.0.0.1 unless ``--host`` says otherwise.
"""
from __future__ import annotations

import base64
import binascii
import json
import os
import os.path as osp
import re
import shutil
import tempfile
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable, Optional
from urllib.parse import unquote, urlparse

STATIC_DIR = osp.join(osp.dirname(__file__), 'static')
REPO_ROOT = osp.abspath(osp.join(osp.dirname(__file__), '..', '..'))
SAMPLES_ROOT = osp.join(REPO_ROOT, 'data', 'samples')
#: the page's title (the browser tests look for it)
TITLE = 'HarmonyZoo — compose, harmonize, compare'
#: most pixels one uploaded image may have (a 100-megapixel photo is bigger than any camera's JPEG)
MAX_PIXELS = 100_000_000
#: jobs kept at once (older ones are removed with their files)
MAX_JOBS = 24
_CONTENT_TYPES = {'.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
                  '.css': 'text/css; charset=utf-8', '.png': 'image/png', '.jpg': 'image/jpeg',
                  '.jpeg': 'image/jpeg', '.json': 'application/json', '.svg': 'image/svg+xml'}
_SAFE_NAME = re.compile(r'[^A-Za-z0-9._-]+')


class AppError(ValueError):
    """A request the page can show as one line (bad input, unknown model, too large)."""

    def __init__(self, message: str, status: HTTPStatus = HTTPStatus.BAD_REQUEST):
        super().__init__(message)
        self.status = status


def _one_line(message: str, folder: Optional[str] = None) -> str:
    """One line, with a job folder's paths (``<folder>/<role>/name``) shortened to the uploaded file's name."""
    if folder:
        message = re.sub(re.escape(folder + os.sep) + r'(?:(?:composite|mask|cutout|background)' + re.escape(os.sep)
                         + r')?', '', str(message))
    return ' '.join(str(message).split())


class HarmonizeApp:
    """What the page asks of the toolkit: models, samples, inputs, compositing and harmonizing (no HTTP here,
    so tests and other front ends can call it directly).

    Args:
        work_root: where job folders go (a temporary directory by default, removed by :meth:`close`).
        max_upload_bytes: the largest request body accepted.
        device, threads: as ``harmony harmonize``'s ``--device`` / ``--threads``.
    """

    def __init__(self, work_root: Optional[str] = None, max_upload_bytes: int = 64 << 20, device: str = 'cpu',
                 threads: Optional[int] = None, samples_root: str = SAMPLES_ROOT):
        from toolkit.apis.runtime import import_model_stack_for_inference, set_inference_threads
        self.threads = set_inference_threads(threads)
        import_model_stack_for_inference()
        self._own_root = work_root is None
        self.work_root = work_root or tempfile.mkdtemp(prefix='harmonyzoo-app-')
        os.makedirs(self.work_root, exist_ok=True)
        self.max_upload_bytes, self.device, self.samples_root = max_upload_bytes, device, samples_root
        self.lock = threading.Lock()  # one model run at a time: concurrent requests queue here
        self._harmonizers: dict = {}
        self._jobs: list[str] = []

    def close(self) -> None:
        if self._own_root:
            shutil.rmtree(self.work_root, ignore_errors=True)

    # ------------------------------------------------------------------------------------------- catalogue
    def models(self) -> list[dict]:
        """Zoo models the page can run here (weights bundled or cached, or none needed), default first."""
        from toolkit.zoo import default_model_name, load_index
        default = default_model_name(required=False)
        rows = []
        for name, model in sorted(load_index().items()):
            status = model.weights_status
            if status not in ('bundled', 'cached', 'none needed') or 'raiha' in name.lower():
                continue  # nothing to run offline (Raiha needs its released weights and references)
            rows.append(dict(name=name, collection=model.collection or '', default=name == default,
                             comparison_only=model.comparison_only, use=model.use or '', weights=status))
        rows.sort(key=lambda row: (not row['default'], row['comparison_only'], row['name']))
        return rows

    def samples(self) -> list[dict]:
        """The bundled real triplets (composite, mask, real image) by id."""
        from toolkit.datasets import IHarmony4Dataset
        if not osp.isdir(self.samples_root):
            return []
        dataset = IHarmony4Dataset(self.samples_root, split='test')
        rows = []
        for index in range(len(dataset)):
            info = dataset.get_data_info(index)
            rows.append(dict(id=str(index), name=info['name'], composite=info['composite_path'],
                             mask=info['mask_path'], real=info['gt_path']))
        return rows

    def sample(self, sample_id: str) -> dict:
        for row in self.samples():
            if row['id'] == str(sample_id):
                return row
        raise AppError(f'sample {sample_id!r} does not exist', HTTPStatus.NOT_FOUND)

    # ------------------------------------------------------------------------------------------------ jobs
    def job_dir(self, job: str) -> str:
        if not re.fullmatch(r'[0-9a-f]{32}', job or ''):
            raise AppError(f'unknown job {job!r}', HTTPStatus.NOT_FOUND)
        folder = osp.join(self.work_root, job)
        if not osp.isdir(folder):
            raise AppError('this result has expired (the page keeps the latest jobs); start again',
                           HTTPStatus.NOT_FOUND)
        return folder

    def _new_job(self) -> tuple[str, str]:
        job = uuid.uuid4().hex
        folder = osp.join(self.work_root, job)
        os.makedirs(folder)
        self._jobs.append(job)
        while len(self._jobs) > MAX_JOBS:
            shutil.rmtree(osp.join(self.work_root, self._jobs.pop(0)), ignore_errors=True)
        return job, folder

    def _write_upload(self, folder: str, upload: dict, role: str) -> str:
        """An uploaded file (``{name, data: base64 or data URL}``) → its path in the job folder."""
        if not isinstance(upload, dict) or not upload.get('data'):
            raise AppError(f'no {role} file was given')
        name = _SAFE_NAME.sub('_', osp.basename(str(upload.get('name') or role))) or role
        data = str(upload['data'])
        if data.startswith('data:'):
            data = data.partition(',')[2]
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise AppError(f'{name}: the upload is not valid base64 data') from None
        os.makedirs(osp.join(folder, role), exist_ok=True)
        path = osp.join(folder, role, name)  # messages name it as the user did (the folders are taken out)
        with open(path, 'wb') as handle:
            handle.write(raw)
        return path

    def _check_pixels(self, path: str, label: str) -> None:
        from PIL import Image
        try:
            with Image.open(path) as image:
                width, height = image.size
        except Exception:  # noqa: BLE001  (not an image PIL knows: OpenCV's reader gives the message later)
            return
        if width * height > MAX_PIXELS:
            raise AppError(f'{label}: {width}×{height} is too large ({width * height / 1e6:.0f} MP; the page takes up '
                           f'to {MAX_PIXELS / 1e6:.0f} MP — use `harmony harmonize` for larger images)',
                           HTTPStatus.REQUEST_ENTITY_TOO_LARGE)

    def _finish_inputs(self, job: str, folder: str, composite_path: str, mask_path: str,
                       real_path: Optional[str] = None) -> dict:
        """Check a composite and mask as the CLI does and record them as the job's inputs."""
        from toolkit.apis.harmonizer import prepare_pair, save_image
        from toolkit.datasets.io import HarmonizationDataError
        for path, label in ((composite_path, 'composite'), (mask_path, 'mask')):
            self._check_pixels(path, label)
        try:
            composite, mask = prepare_pair(composite_path, mask_path)  # the rules every model applies
        except (HarmonizationDataError, OSError, ValueError) as error:
            raise AppError(_one_line(str(error), folder)) from None
        # the page shows PNGs of exactly what the models receive (a composite made here already is one)
        shown_composite, shown_mask = osp.join(folder, 'input.png'), osp.join(folder, 'mask.png')
        if composite_path != shown_composite:
            save_image(shown_composite, composite)
        if mask_path != shown_mask:
            import cv2
            cv2.imwrite(shown_mask, mask)
        meta = dict(composite=composite_path, mask=mask_path, real=real_path, width=int(composite.shape[1]),
                    height=int(composite.shape[0]))
        with open(osp.join(folder, 'job.json'), 'w', encoding='utf-8') as handle:
            json.dump(meta, handle)
        return dict(job=job, width=meta['width'], height=meta['height'], composite_url=f'/jobs/{job}/input.png',
                    mask_url=f'/jobs/{job}/mask.png', real_url=f'/jobs/{job}/real.png' if real_path else None)

    def inputs(self, request: dict) -> dict:
        """``{composite, mask}`` uploads or ``{sample: id}`` → a job with checked inputs."""
        job, folder = self._new_job()
        if request.get('sample') is not None:
            sample = self.sample(request['sample'])
            real = osp.join(folder, 'real.png')
            from toolkit.apis.harmonizer import save_image
            from toolkit.datasets import read_image
            save_image(real, read_image(sample['real']))
            return self._finish_inputs(job, folder, sample['composite'], sample['mask'], sample['real'])
        composite = self._write_upload(folder, request.get('composite'), 'composite')
        mask = self._write_upload(folder, request.get('mask'), 'mask')
        return self._finish_inputs(job, folder, composite, mask)

    def compose(self, request: dict) -> dict:
        """``{cutout, background, x, y, scale}`` → a job whose composite and mask are :func:`paste_cutout`'s."""
        from toolkit.apis.compose import paste_cutout, read_cutout
        from toolkit.apis.harmonizer import save_image
        from toolkit.datasets import read_image
        from toolkit.datasets.io import HarmonizationDataError
        job, folder = self._new_job()
        cutout_path = self._write_upload(folder, request.get('cutout'), 'cutout')
        background_path = self._write_upload(folder, request.get('background'), 'background')
        try:
            for path, label in ((cutout_path, 'cut-out'), (background_path, 'background')):
                self._check_pixels(path, label)
            scale = float(request.get('scale', 1.0))
            x = None if request.get('x') is None else int(round(float(request['x'])))
            y = None if request.get('y') is None else int(round(float(request['y'])))
            composite, mask = paste_cutout(read_cutout(cutout_path), read_image(background_path, alpha='flatten'),
                                           x, y, scale, label=cutout_path)
        except (HarmonizationDataError, OSError, TypeError) as error:
            raise AppError(_one_line(str(error), folder)) from None
        except ValueError as error:
            raise AppError(_one_line(f'placement: {error}', folder)) from None
        composite_path, mask_path = osp.join(folder, 'input.png'), osp.join(folder, 'mask.png')
        save_image(composite_path, composite)
        import cv2
        cv2.imwrite(mask_path, mask)
        return self._finish_inputs(job, folder, composite_path, mask_path)

    # ------------------------------------------------------------------------------------------- harmonize
    def harmonizer(self, name: str):
        from toolkit.apis.harmonizer import Harmonizer
        if name not in {row['name'] for row in self.models()}:
            raise AppError(f'{name}: not a model this page can run (see harmony list)', HTTPStatus.NOT_FOUND)
        if name not in self._harmonizers:
            self._harmonizers[name] = Harmonizer.from_pretrained(name, device=self.device)
        return self._harmonizers[name]

    def harmonize(self, request: dict) -> dict:
        """``{job, model[, strength]}`` → the model's full-resolution output (``harmonize_file``, as the CLI, with
        ``--strength``), its time and, for a sample with a real image, its metrics at native resolution."""
        from toolkit.apis.harmonizer import strength_suffix
        from toolkit.datasets.io import HarmonizationDataError
        job, name = str(request.get('job') or ''), str(request.get('model') or '')
        strength = _strength(request.get('strength', 1.0))
        folder = self.job_dir(job)
        with open(osp.join(folder, 'job.json'), encoding='utf-8') as handle:
            meta = json.load(handle)
        with self.lock:
            started = time.perf_counter()
            harmonizer = self.harmonizer(name)
            load_s = time.perf_counter() - started
            output = osp.join(folder, f'{_SAFE_NAME.sub("_", name)}{strength_suffix(strength)}.png')
            started = time.perf_counter()
            harmonizer.strength = strength  # the harmonizers are shared, and run one at a time under the lock
            try:
                harmonizer.harmonize_file(meta['composite'], meta['mask'], output, overwrite=True)
            except (HarmonizationDataError, OSError, ValueError) as error:
                raise AppError(_one_line(str(error), folder)) from None
            seconds = time.perf_counter() - started
        result = dict(model=name, strength=strength, time_s=seconds, load_s=load_s,
                      url=f'/jobs/{job}/{osp.basename(output)}',
                      width=meta['width'], height=meta['height'], metrics=None)
        if meta.get('real'):
            result['metrics'] = self.metrics(output, meta)
        return result

    @staticmethod
    def metrics(output_path: str, meta: dict) -> dict:
        """fMSE, MSE, PSNR, fPSNR of a result against the real image at native resolution (docs/metrics.md)."""
        import numpy as np

        from toolkit.apis.full_res_eval import NATIVE_PROFILE
        from toolkit.datasets import read_image, read_mask
        from toolkit.datasets.transforms.processing import match_size
        from toolkit.metrics.harmonization_metric import native_image_metrics
        output = read_image(output_path)
        real = match_size(read_image(meta['real']), output.shape[:2], meta['real'], output_path, kind='image')
        mask = match_size(read_mask(meta['mask'], dtype=np.uint8), output.shape[:2], meta['mask'], output_path)
        values = native_image_metrics(output, real, mask, NATIVE_PROFILE)
        return dict(profile=NATIVE_PROFILE['name'], **{key: float(values[key]) for key in
                                                       ('fMSE', 'MSE', 'PSNR', 'fPSNR')})


# ------------------------------------------------------------------------------------------------ HTTP
def _strength(value) -> float:
    """The request's strength, checked as ``harmony harmonize --strength`` is, before any work is done."""
    from toolkit.apis.harmonizer import check_strength
    try:
        return check_strength(value)
    except ValueError as error:
        raise AppError(str(error)) from None


def _handler(app: HarmonizeApp) -> type:
    class Handler(BaseHTTPRequestHandler):
        server_version = 'HarmonyZoo'
        protocol_version = 'HTTP/1.1'

        def log_message(self, format, *args):  # noqa: A002  (quiet: the page reports errors itself)
            pass

        def _send(self, status: HTTPStatus, body: bytes, content_type: str, extra: Optional[dict] = None):
            self.send_response(status)
            self.send_header('Content-Type', content_type)
            self.send_header('Content-Length', str(len(body)))
            self.send_header('Cache-Control', 'no-store')
            for key, value in (extra or {}).items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != 'HEAD':
                self.wfile.write(body)

        def _json(self, payload, status: HTTPStatus = HTTPStatus.OK):
            self._send(status, json.dumps(payload).encode(), 'application/json')

        def _file(self, path: str, download_name: Optional[str] = None):
            if not osp.isfile(path):
                return self._json(dict(error='not found'), HTTPStatus.NOT_FOUND)
            with open(path, 'rb') as handle:
                body = handle.read()
            extra = {'Content-Disposition': f'attachment; filename="{download_name}"'} if download_name else None
            self._send(HTTPStatus.OK, body, _CONTENT_TYPES.get(osp.splitext(path)[1].lower(),
                                                               'application/octet-stream'), extra)

        def do_GET(self):  # noqa: N802
            path = unquote(urlparse(self.path).path)
            try:
                if path in ('/', '/index.html'):
                    return self._file(osp.join(STATIC_DIR, 'index.html'))
                if path.startswith('/static/'):
                    name = osp.basename(path)
                    return self._file(osp.join(STATIC_DIR, name))
                if path == '/api/models':
                    return self._json(app.models())
                if path == '/api/samples':
                    return self._json([dict(id=row['id'], name=row['name']) for row in app.samples()])
                match = re.fullmatch(r'/jobs/([0-9a-f]{32})/([A-Za-z0-9._-]+)', path)
                if match:
                    folder = app.job_dir(match[1])
                    download = 'download' in urlparse(self.path).query
                    return self._file(osp.join(folder, match[2]), match[2] if download else None)
                return self._json(dict(error=f'{path}: not found'), HTTPStatus.NOT_FOUND)
            except AppError as error:
                return self._json(dict(error=str(error)), error.status)

        do_HEAD = do_GET

        def _discard_body(self, length: int) -> None:
            """Read a refused upload (so the browser gets the answer, not a reset connection), up to 1 GiB."""
            if length > 1 << 30:
                self.close_connection = True
                return
            while length > 0:
                chunk = self.rfile.read(min(length, 1 << 20))
                if not chunk:
                    break
                length -= len(chunk)

        def do_POST(self):  # noqa: N802
            path = urlparse(self.path).path
            routes: dict[str, Callable[[dict], dict]] = {'/api/inputs': app.inputs, '/api/compose': app.compose,
                                                         '/api/harmonize': app.harmonize}
            try:
                if path not in routes:
                    raise AppError(f'{path}: not found', HTTPStatus.NOT_FOUND)
                length = int(self.headers.get('Content-Length') or 0)
                if length > app.max_upload_bytes:
                    self._discard_body(length)
                    raise AppError(f'upload too large: {length / 2 ** 20:.1f} MB (the limit is '
                                   f'{app.max_upload_bytes / 2 ** 20:.0f} MB; harmony app --max-upload-mb)',
                                   HTTPStatus.REQUEST_ENTITY_TOO_LARGE)
                try:
                    request = json.loads(self.rfile.read(length) or b'{}')
                except ValueError:
                    raise AppError('the request is not valid JSON') from None
                return self._json(routes[path](request))
            except AppError as error:
                return self._json(dict(error=str(error)), error.status)
            except Exception as error:  # noqa: BLE001  (the page shows one line; the server keeps running)
                return self._json(dict(error=_one_line(f'{type(error).__name__}: {error}', app.work_root)),
                                  HTTPStatus.INTERNAL_SERVER_ERROR)

    return Handler


def make_server(host: str = '127.0.0.1', port: int = 7860, **app_options) -> ThreadingHTTPServer:
    """A ready server (call ``serve_forever()``; ``server.app.close()`` removes its files)."""
    app = HarmonizeApp(**app_options)
    server = ThreadingHTTPServer((host, port), _handler(app))
    server.daemon_threads = True
    server.app = app
    return server
