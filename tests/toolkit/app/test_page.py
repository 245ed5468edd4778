"""`harmony app` in a real browser (headless Chromium from the system's packages, driven by Playwright).

The server runs as a user starts it (`python -m toolkit.cli app --port 0`, its own process); the page is used
by clicking, choosing files and dragging, as a person would.
"""
import os
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from toolkit.apis.compose import paste_cutout, read_cutout
from toolkit.datasets import read_image
from toolkit.zoo import default_model_name

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..', '..'))
SAMPLES = os.path.join(REPO_ROOT, 'data', 'samples')
COMPOSITE = os.path.join(SAMPLES, 'HAdobe5k', 'composite_images', 'a0002_1_4.jpg')
MASK = os.path.join(SAMPLES, 'HAdobe5k', 'masks', 'a0002_1.png')
#: where the test run leaves its screenshot of the page (docs/images/app.png is one of them)
SCREENSHOT_DIR = os.path.join(REPO_ROOT, 'work_dirs', 'app')


def _chromium() -> str:
    for candidate in (os.environ.get('HARMONYZOO_CHROMIUM'), shutil.which('chromium'), shutil.which('chromium-browser'),
                      shutil.which('google-chrome')):
        if candidate and os.path.exists(candidate):
            return candidate
    message = 'no Chromium here: `make test` installs Debian\'s chromium (as root), or set HARMONYZOO_CHROMIUM'
    if os.environ.get('CI'):
        pytest.fail(message)  # CI must run the browser tests, never skip them
    pytest.skip(message)


@pytest.fixture(scope='module')
def server(tmp_path_factory):
    """`harmony app` on a free port, in its own process; yields its URL."""
    work = tmp_path_factory.mktemp('app-work')
    process = subprocess.Popen([sys.executable, '-m', 'toolkit.cli', 'app', '--port', '0', '--work-dir', str(work)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=dict(os.environ, PYTHONPATH=REPO_ROOT))
    line = process.stdout.readline()
    match = re.search(r'http://127\.0\.0\.1:(\d+)/', line)
    if not match:
        process.kill()
        pytest.fail(f'harmony app did not start: {line} {process.stderr.read()}')
    yield f'http://127.0.0.1:{match[1]}', str(work)
    process.terminate()
    assert process.wait(timeout=30) == 0


@pytest.fixture(scope='module')
def browser():
    executable = _chromium()
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=['--no-sandbox'])
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    url, _ = server
    context = browser.new_context(accept_downloads=True, viewport={'width': 1400, 'height': 1000})
    page = context.new_page()
    page.goto(url)
    page.wait_for_selector('body[data-ready="true"]', timeout=60_000)
    yield page
    context.close()


def _choose_models(page, names):
    for box in page.query_selector_all('.model-choice'):
        if box.is_checked() != (box.get_attribute('value') in names):
            box.click()


def _set_range(page, selector, value):
    page.eval_on_selector(selector, '(el, v) => { el.value = v; el.dispatchEvent(new Event("input")); }', str(value))


def _cli_output(tmp_path, *args):
    result = subprocess.run([sys.executable, '-m', 'toolkit.cli', *args], capture_output=True, text=True,
                            cwd=str(tmp_path), env=dict(os.environ, PYTHONPATH=REPO_ROOT), timeout=300)
    return result


def test_upload_harmonize_compare_and_download_equals_the_cli(page, tmp_path):
    assert 'HarmonyZoo' in page.title()
    default = page.eval_on_selector('.model-choice:checked', 'el => el.value')
    assert default == default_model_name()  # preselected
    page.set_input_files('#composite-file', COMPOSITE)
    page.set_input_files('#mask-file', MASK)
    _choose_models(page, {default, 'reinhard-lab'})
    page.click('#harmonize-btn')
    page.wait_for_function('document.querySelectorAll(".card[data-model] img.result-image").length == 2 && '
                           '[...document.querySelectorAll("img.result-image")].every(i => i.complete && '
                           'i.naturalWidth > 0)', timeout=120_000)
    height, width = read_image(COMPOSITE).shape[:2]
    sizes = page.eval_on_selector_all('img.result-image', 'els => els.map(i => [i.naturalWidth, i.naturalHeight])')
    assert sizes == [[width, height], [width, height]]
    assert page.text_content(f'.card[data-model="{default}"] .meta').split(' s ')[0].replace('.', '').isdigit()
    assert not page.is_hidden('#compare') and page.is_hidden('#error')
    # the before/after slider moves the split
    _set_range(page, '#compare-range', 20)
    assert '20%' in page.eval_on_selector('#compare-after-clip', 'el => el.style.clipPath')
    os.makedirs(SCREENSHOT_DIR, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, 'screenshot.png'), full_page=True)
    # the download is the CLI's output, pixel for pixel
    with page.expect_download() as download_info:
        page.click(f'.card[data-model="{default}"] a.download')
    downloaded = tmp_path / 'downloaded.png'
    download_info.value.save_as(str(downloaded))
    result = _cli_output(tmp_path, 'harmonize', COMPOSITE, MASK, '-o', 'cli.png')
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(cv2.imread(str(downloaded), cv2.IMREAD_UNCHANGED),
                                  cv2.imread(str(tmp_path / 'cli.png'), cv2.IMREAD_UNCHANGED))


def _cutout_file(path):
    """A cut-out as people make them: an object cropped from a photo, with a soft-edged alpha."""
    photo = cv2.imread(os.path.join(SAMPLES, 'RainNet', 'real_images', 'rainnet1.png'))
    crop = photo[40:200, 60:180]
    alpha = np.zeros(crop.shape[:2], np.uint8)
    cv2.ellipse(alpha, (60, 80), (50, 70), 0, 0, 360, 255, -1)
    alpha = cv2.GaussianBlur(alpha, (0, 0), 2)
    cv2.imwrite(str(path), np.dstack([crop, alpha]))


def test_cutout_placed_on_a_background_makes_the_toolkits_composite_and_mask(page, server, tmp_path):
    cutout, background = tmp_path / 'object.png', os.path.join(SAMPLES, 'HAdobe5k', 'real_images', 'a0002.jpg')
    _cutout_file(cutout)
    page.click('#tab-cutout')
    page.set_input_files('#cutout-file', str(cutout))
    page.set_input_files('#background-file', background)
    page.wait_for_function('Number(document.querySelector("#pos-x").value) > 0', timeout=30_000)  # centred
    _set_range(page, '#scale', 1.5)
    _set_range(page, '#pos-x', 200)
    _set_range(page, '#pos-y', 150)
    # drag the object 40 canvas pixels right and 20 down: the position moves by that much in background pixels
    canvas = page.query_selector('#placement-canvas')
    box = canvas.bounding_box()
    background_width = read_image(background).shape[1]
    factor = box['width'] / background_width
    start = (box['x'] + (200 + 60) * factor, box['y'] + (150 + 80) * factor)
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 40, start[1] + 20, steps=4)
    page.mouse.up()
    x, y = int(page.input_value('#pos-x')), int(page.input_value('#pos-y'))
    assert abs(x - (200 + 40 / factor)) <= 2 and abs(y - (150 + 20 / factor)) <= 2, (x, y)
    page.click('#compose-btn')
    page.wait_for_selector('.card[data-role="mask"] img', timeout=60_000)
    url, _ = server
    composite_src = page.get_attribute('.card[data-role="composite"] img', 'src')
    mask_src = page.get_attribute('.card[data-role="mask"] img', 'src')
    shown_composite = cv2.imdecode(np.frombuffer(page.request.get(url + composite_src).body(), np.uint8),
                                   cv2.IMREAD_UNCHANGED)
    shown_mask = cv2.imdecode(np.frombuffer(page.request.get(url + mask_src).body(), np.uint8), cv2.IMREAD_UNCHANGED)
    expected_composite, expected_mask = paste_cutout(read_cutout(str(cutout)), read_image(background), x, y, 1.5)
    np.testing.assert_array_equal(shown_composite[..., ::-1], expected_composite)
    np.testing.assert_array_equal(shown_mask, expected_mask)
    # and it harmonizes from there
    _choose_models(page, {'reinhard-lab'})
    page.click('#harmonize-btn')
    page.wait_for_selector('.card[data-model="reinhard-lab"] img.result-image', timeout=60_000)
    os.makedirs(SCREENSHOT_DIR, exist_ok=True)
    page.screenshot(path=os.path.join(SCREENSHOT_DIR, 'cutout.png'), full_page=True)


def test_bad_mask_shows_the_clis_one_line_message(page, tmp_path):
    composite = tmp_path / 'composite.png'
    shutil.copy(os.path.join(SAMPLES, 'RainNet', 'composite_images', 'rainnet1_1_1.png'), composite)
    height, width = read_image(str(composite)).shape[:2]
    cases = {'empty.png': np.zeros((height, width), np.uint8),
             'wrong-size.png': np.full((height, width * 2), 255, np.uint8)}
    for name, mask in cases.items():
        cv2.imwrite(str(tmp_path / name), mask)
        page.set_input_files('#composite-file', str(composite))
        page.set_input_files('#mask-file', str(tmp_path / name))
        page.click('#harmonize-btn')
        page.wait_for_selector('#error:not(.hidden)', timeout=30_000)
        shown = page.text_content('#error')
        cli = _cli_output(tmp_path, 'harmonize', 'composite.png', name, '-o', 'out.png')
        assert cli.returncode == 1
        assert shown == cli.stderr.strip().removeprefix('Error: '), (shown, cli.stderr)
        assert page.query_selector('img.result-image') is None
    assert not os.path.exists(tmp_path / 'out.png')


def test_strength_field_gives_the_clis_strength_output(page, tmp_path):
    page.set_input_files('#composite-file', COMPOSITE)
    page.set_input_files('#mask-file', MASK)
    _choose_models(page, {'reinhard-lab'})
    page.fill('#strength', '1.5')
    page.click('#harmonize-btn')
    page.wait_for_selector('#error:not(.hidden)', timeout=30_000)
    assert page.text_content('#error') == 'strength must be a number from 0 to 1'
    assert page.query_selector('img.result-image') is None
    page.fill('#strength', '0.5')
    page.click('#harmonize-btn')
    page.wait_for_selector('.card[data-model="reinhard-lab"] img.result-image', timeout=60_000)
    assert page.text_content('.card[data-model="reinhard-lab"] h3') == 'reinhard-lab at strength 0.5'
    with page.expect_download() as download_info:
        page.click('.card[data-model="reinhard-lab"] a.download')
    downloaded = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(str(downloaded))
    assert downloaded.name == 'reinhard-lab_strength-0p5.png'
    result = _cli_output(tmp_path, 'harmonize', '-m', 'reinhard-lab', '--strength', '0.5', COMPOSITE, MASK,
                         '-o', 'cli.png')
    assert result.returncode == 0, result.stderr
    np.testing.assert_array_equal(cv2.imread(str(downloaded), cv2.IMREAD_UNCHANGED),
                                  cv2.imread(str(tmp_path / 'cli.png'), cv2.IMREAD_UNCHANGED))
    full = _cli_output(tmp_path, 'harmonize', '-m', 'reinhard-lab', COMPOSITE, MASK, '-o', 'full.png')
    assert full.returncode == 0 and not np.array_equal(cv2.imread(str(tmp_path / 'full.png')),
                                                       cv2.imread(str(tmp_path / 'cli.png')))
