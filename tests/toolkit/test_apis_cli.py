"""Harmonizer inference API and the `harmony` CLI (offline, and with weights cached from the fake hub)."""
import os

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from toolkit.apis import Harmonizer
from toolkit.apis.full_res_eval import compare_full_res
from toolkit.cli import main as harmony
from toolkit.datasets import HarmonizationDataError, read_image, read_mask

from .test_hub_zoo import publish_tiny_unet

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
SAMPLES = os.path.join(REPO_ROOT, 'data', 'samples')
INR_COMPOSITE = os.path.join(SAMPLES, 'INR', 'composite_images', 'inr_demo2k_1_1.jpg')
INR_MASK = os.path.join(SAMPLES, 'INR', 'masks', 'inr_demo2k_1.png')  # JPEG-sourced: soft


@pytest.fixture(scope='module')
def reinhard():
    return Harmonizer.from_pretrained('reinhard-lab', device='cpu')


def _scene(height=300, width=500):
    image = np.zeros((height, width, 3), np.uint8)
    image[:, : width // 2] = (30, 60, 200)
    image[:, width // 2:] = (200, 120, 40)
    mask = np.zeros((height, width), np.uint8)
    mask[height // 3: 2 * height // 3, int(0.6 * width): int(0.84 * width)] = 255
    return image, mask


def test_any_size_in_and_out_background_untouched(reinhard):
    composite, mask = read_image(INR_COMPOSITE), read_mask(INR_MASK)
    assert ((mask > 0) & (mask < 1)).any()  # a soft mask
    for full_res in (True, False):
        out = reinhard.harmonize(INR_COMPOSITE, INR_MASK, full_res=full_res)
        assert out.shape == composite.shape and out.dtype == np.uint8
        np.testing.assert_array_equal(out[mask == 0], composite[mask == 0])
        assert np.abs(out[mask > 0.5].astype(int) - composite[mask > 0.5]).mean() > 5


def test_input_forms(reinhard, tmp_path):
    image, mask = _scene()
    reference = reinhard.harmonize(image, mask)
    # PIL inputs, RGBA with opaque alpha, 3-channel mask, boolean mask, float image
    rgba = np.concatenate([image, np.full(image.shape[:2] + (1,), 255, np.uint8)], axis=2)
    assert np.array_equal(reinhard.harmonize(Image.fromarray(rgba, 'RGBA'), Image.fromarray(mask)), reference)
    assert np.array_equal(reinhard.harmonize(image, np.repeat(mask[..., None], 3, 2)), reference)
    assert np.array_equal(reinhard.harmonize(image.astype(np.float32) / 255, mask > 0), reference)
    # a 16-bit PNG on disk reads as the same 8-bit image
    cv2.imwrite(str(tmp_path / 'deep.png'), cv2.cvtColor(image, cv2.COLOR_RGB2BGR).astype(np.uint16) * 257)
    cv2.imwrite(str(tmp_path / 'mask.png'), mask)
    assert np.array_equal(reinhard.harmonize(str(tmp_path / 'deep.png'), str(tmp_path / 'mask.png')), reference)
    # grayscale composites are replicated to RGB
    gray = reinhard.harmonize(image[..., 0], mask)
    assert gray.shape == image.shape
    # batched lists keep order and sizes
    small_image, small_mask = _scene(120, 160)
    outputs = reinhard.harmonize([image, small_image], [mask, small_mask])
    assert [o.shape for o in outputs] == [image.shape, small_image.shape]
    assert np.array_equal(outputs[0], reference)


def test_exif_orientation_of_files(reinhard, tmp_path):
    image, mask = _scene(200, 320)
    rotated = np.ascontiguousarray(np.rot90(image, 1))  # stored rotated, tagged to be turned back
    pil = Image.fromarray(rotated)
    exif = pil.getexif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    pil.save(tmp_path / 'photo.jpg', exif=exif, quality=95)
    cv2.imwrite(str(tmp_path / 'mask.png'), mask)
    out = reinhard.harmonize(str(tmp_path / 'photo.jpg'), str(tmp_path / 'mask.png'))
    assert out.shape == image.shape  # upright, so it matches the mask


def test_bad_inputs_are_refused_clearly(reinhard, tmp_path):
    image, mask = _scene()
    with pytest.raises(HarmonizationDataError, match=r'mask 0: mask size 500x200 does not match image 0 \(500x300\) '
                                                     'and the aspect ratios differ'):
        reinhard.harmonize(image, mask[:200])
    with pytest.raises(HarmonizationDataError, match='mask 0: mask is empty'):
        reinhard.harmonize(image, np.zeros_like(mask))
    transparent = np.zeros((10, 10, 4), np.uint8)
    strict = Harmonizer(reinhard.model, device='cpu', alpha='refuse')
    with pytest.raises(HarmonizationDataError, match='image 0: RGBA image with 100 transparent pixels'):
        strict.harmonize(transparent, np.eye(10, dtype=np.uint8))
    with pytest.raises(HarmonizationDataError, match='nothing.png: file does not exist'):
        reinhard.harmonize(str(tmp_path / 'nothing.png'), mask)
    # the one size rule of datasets and harmonize: same aspect ratio → resized, like a dataset's mask
    half = cv2.resize(mask, (250, 150), interpolation=cv2.INTER_NEAREST)
    assert np.abs(reinhard.harmonize(image, half).astype(int) - reinhard.harmonize(image, mask)).mean() < 1.0


def test_full_res_eval_at_a_given_size_scores_the_resized_triplet(reinhard, tiny_iharmony):
    """--size: every triplet resized as the Harmonizer resizes (area images, bilinear masks), then harmonized there;
    at the network's size "bilinear upsampling" is the network's output as is."""
    from toolkit.apis.full_res_eval import NATIVE_PROFILE, native_triplets
    from toolkit.datasets.transforms.processing import resize_image, resize_mask
    from toolkit.metrics.harmonization_metric import native_image_metrics
    result = compare_full_res(reinhard, tiny_iharmony, min_side=0, size=256)
    assert result['size'] == 256 and all(image.endswith('(256x256)') for image in result['images'])
    for row, (info, composite, real, mask) in zip(result['per_image'], native_triplets(tiny_iharmony)):
        assert row['name'] == info['name'] and composite.shape[:2] != (256, 256)
        small = [resize_image(image, (256, 256)) for image in (composite, real)]
        small_mask = resize_mask(mask, (256, 256))
        assert row['input composite'] == native_image_metrics(small[0], small[1], small_mask, NATIVE_PROFILE)
        as_is = reinhard.harmonize(small[0], small_mask, full_res=False)
        assert row['bilinear upsampling'] == native_image_metrics(as_is, small[1], small_mask, NATIVE_PROFILE)


def test_full_res_eval_tool_passes_the_fits_settings_to_the_harmonizer(tiny_iharmony, tmp_path):
    """--radius / --eps: the tool scores what a Harmonizer with those settings gives, and records them."""
    import json
    import subprocess
    import sys
    out = tmp_path / 'r4.json'
    done = subprocess.run([sys.executable, os.path.join(REPO_ROOT, 'tools', 'full_res_eval.py'), 'reinhard-lab',
                           '--data-root', tiny_iharmony, '--min-side', '0', '--radius', '4', '--eps', '0.01',
                           '--out', str(out)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    written = json.loads(out.read_text())
    assert (written['radius'], written['eps']) == (4, 0.01)
    wide, default = (compare_full_res(Harmonizer.from_pretrained('reinhard-lab', **fit), tiny_iharmony, min_side=0)
                     for fit in (dict(radius=4, eps=0.01), {}))
    scores = [row['full-resolution transfer']['fMSE'] for row in written['per_image']]
    assert scores == pytest.approx([row['full-resolution transfer']['fMSE'] for row in wide['per_image']], rel=1e-9)
    assert scores != pytest.approx([row['full-resolution transfer']['fMSE'] for row in default['per_image']],
                                   rel=1e-6)


def test_full_res_path_beats_bilinear_upsampling(reinhard):
    result = compare_full_res(reinhard, SAMPLES, subsets=['HAdobe5k'])
    guided, bilinear = result['results']['full-resolution transfer'], result['results']['bilinear upsampling']
    assert len(result['images']) == 2
    assert guided['fSSIM'] > bilinear['fSSIM'] + 0.01 and guided['SSIM'] > bilinear['SSIM']
    assert guided['fMSE'] < bilinear['fMSE']


def test_cli_list_info_and_errors(tmp_path):
    runner = CliRunner()
    out = str(tmp_path / 'x.png')
    listing = runner.invoke(harmony, ['list'])
    assert listing.exit_code == 0 and 'reinhard-lab' in listing.output and 'rainnet' in listing.output
    assert 'reinhard-lab' in runner.invoke(harmony, ['list', '*reinhard*']).output
    info = runner.invoke(harmony, ['info', 'reinhard-lab'])
    assert info.exit_code == 0 and 'configs/baselines/reinhard-lab_iharmony4-256.py' in info.output
    # the weights line says where the weights are and whether they are here (Rich once swallowed "[bundled]")
    bundled = runner.invoke(harmony, ['info', 'colorcurves_adam-6k-warm-3k-warm-3k_matched-256']).output
    assert '[bundled]' in bundled and 'sha256 b03bf6e7' in bundled
    ensemble = runner.invoke(harmony, ['info', 'ensemble_colorcurves-0p7-clharmony-s-0p3_matched-256']).output
    assert "the members' own: colorcurves_adam-6k-warm-3k-warm-3k_matched-256" in ensemble and '[bundled]' in ensemble
    unknown = runner.invoke(harmony, ['harmonize', '--model', 'nope', INR_COMPOSITE, INR_MASK, '-o', out])
    assert unknown.exit_code == 1 and unknown.output.strip() == (
        "Error: unknown model 'nope'; `harmony list` shows them all")
    mismatch = runner.invoke(harmony, ['harmonize', '--model', 'reinhard-lab', INR_COMPOSITE,
                                       os.path.join(SAMPLES, 'HAdobe5k', 'masks', 'a0002_1.png'), '-o', out])
    assert mismatch.exit_code == 1 and 'does not match' in mismatch.output and len(mismatch.output.splitlines()) == 1
    missing = runner.invoke(harmony, ['harmonize', '--model', 'reinhard-lab', 'no.jpg', INR_MASK, '-o', out])
    assert missing.exit_code == 1 and 'no.jpg: file does not exist' in missing.output
    bad = runner.invoke(harmony, ['info', 'nope'])
    assert bad.exit_code == 1


def test_cli_harmonize_single_and_folder(tmp_path):
    runner = CliRunner()
    out = tmp_path / 'out.png'
    result = runner.invoke(harmony, ['harmonize', '--model', 'reinhard-lab', INR_COMPOSITE, INR_MASK, '-o', str(out),
                                     '--device', 'cpu', '--no-full-res'])
    assert result.exit_code == 0, result.output
    assert read_image(str(out)).shape == read_image(INR_COMPOSITE).shape
    folder = tmp_path / 'folder'
    result = runner.invoke(harmony, ['harmonize', '-m', 'histogram-matching', '--images',
                                     os.path.join(SAMPLES, 'RainNet', 'composite_images'), '--masks',
                                     os.path.join(SAMPLES, 'RainNet', 'masks'), '-o', str(folder)])
    assert result.exit_code == 0, result.output
    assert sorted(os.listdir(folder)) == ['rainnet1_1_1.png', 'rainnet2_1_1.png', 'rainnet3_1_1.png']


@pytest.fixture
def published(fake_hub, tmp_path, monkeypatch):
    return publish_tiny_unet(fake_hub, tmp_path, monkeypatch)


def test_cli_with_weights_from_the_fake_hub(published, fake_hub, monkeypatch, tmp_path):
    runner = CliRunner()
    assert 'download' in runner.invoke(harmony, ['list']).output
    result = runner.invoke(harmony, ['download', 'unet-tiny-test'])
    assert result.exit_code == 0 and 'model.safetensors' in result.output
    from huggingface_hub import constants
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)  # from here on: cache only
    fake_hub.requests.clear()
    assert 'cached' in runner.invoke(harmony, ['list']).output
    out = tmp_path / 'tiny.png'
    result = runner.invoke(harmony, ['harmonize', '--model', 'unet-tiny-test', INR_COMPOSITE, INR_MASK, '-o', str(out)])
    assert result.exit_code == 0, result.output
    assert out.is_file() and not fake_hub.requests


def test_config_and_checkpoint_in_one_string(tmp_path):
    import torch

    from toolkit.models import build_model_from_config
    config = os.path.join(REPO_ROOT, 'configs', 'unet', 'unet-tiny_identity_adam-20i_samples-64.py')
    model, _ = build_model_from_config(config)
    from mmengine.logging import MessageHub
    hub = MessageHub.get_instance('one-string-test')
    hub.update_scalar('train/loss', 1.0)
    checkpoint = tmp_path / 'iter_20.pth'  # what tools/train.py writes: weights plus training state
    torch.save({'state_dict': model.state_dict(), 'message_hub': hub.state_dict(), 'meta': {'iter': 20}}, checkpoint)
    harmonizer = Harmonizer.from_pretrained(f'{config}:{checkpoint}', device='cpu')
    assert torch.equal(harmonizer.model.state_dict()['backbone.head.weight'],
                       model.state_dict()['backbone.head.weight'])
    result = CliRunner().invoke(harmony, ['harmonize', '--model', f'{config}:{checkpoint}', INR_COMPOSITE, INR_MASK,
                                          '-o', str(tmp_path / 'out.png')])
    assert result.exit_code == 0, result.output
    missing = CliRunner().invoke(harmony, ['harmonize', '--model', str(tmp_path / 'none.py'), INR_COMPOSITE,
                                           INR_MASK, '-o', str(tmp_path / 'x.png')])
    assert missing.exit_code == 1 and 'none.py does not exist' in missing.output


@pytest.mark.parametrize('name', ['copy-paste', 'reinhard-lab', 'histogram-matching'])
def test_light_path_equals_the_model_stack(name):
    """``harmony harmonize`` runs non-learned models as plain functions (start-up ~1 s faster); the pictures
    must be those of the registered model built from its config."""
    from toolkit import zoo
    from toolkit.apis.harmonizer import TransferFunctionModel
    light = Harmonizer.from_pretrained(name, device='cpu')
    assert isinstance(light.model, TransferFunctionModel)
    heavy = Harmonizer(zoo.get_model(name, pretrained=False, device='cpu'), device='cpu')
    assert not isinstance(heavy.model, TransferFunctionModel)
    rng = np.random.default_rng(3)
    image = np.clip(rng.normal(120, 40, (180, 260, 3)), 0, 255).astype(np.uint8)
    image[40:140, 60:160] = np.clip(image[40:140, 60:160] * 0.5 + 90, 0, 255).astype(np.uint8)
    mask = np.zeros((180, 260), np.uint8)
    mask[40:140, 60:160] = 255
    a, b = light.harmonize(image, mask), heavy.harmonize(image, mask)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    if name != 'copy-paste':  # the function really changes the foreground
        assert np.abs(a.astype(int) - image.astype(int))[mask > 0].mean() > 5


def test_carry_brings_a_given_low_resolution_output_to_the_composite(reinhard):
    """Harmonizer.carry: the path harmonize takes, for an output given instead of the network's. Given the model's
    own output it is harmonize bit for bit; given the real image at 256² of a composite whose foreground is a global
    affine change of the real one, the fit undoes the change at full size (reference: the real image)."""
    rng = np.random.default_rng(0)
    real = cv2.GaussianBlur(rng.integers(0, 256, (300, 420, 3)).astype(np.uint8), (0, 0), 3)
    real = cv2.normalize(real, None, 20, 235, cv2.NORM_MINMAX)
    mask = np.zeros((300, 420), np.uint8)
    mask[60:240, 150:330] = 255
    composite = real.copy()
    changed = np.clip(real.astype(np.float64) * (0.5, 0.8, 0.6) + (90, -10, 70), 0, 255).round().astype(np.uint8)
    composite[mask > 0] = changed[mask > 0]
    inside = mask > 0

    def foreground_mse(image):
        return float(((image.astype(np.float64) - real) ** 2)[inside].mean())

    # the model's own output carried = harmonize (reinhard-lab runs at 256² and is fitted like any network)
    low_composite, low_mask = reinhard._low_resolution(*reinhard.prepare(composite, mask))
    own = reinhard._run_model([low_composite], [low_mask], want_mapping=False)[0][0]
    own = own.numpy().transpose(1, 2, 0)
    assert np.array_equal(reinhard.carry(composite, mask, own), reinhard.harmonize(composite, mask))
    # the real image at the network's size: the fit undoes the affine change at 300×420, bilinear upsampling blurs
    low_real = cv2.resize(real, (256, 256), interpolation=cv2.INTER_AREA)
    carried = reinhard.carry(composite, mask, low_real)
    upsampled = reinhard.carry(composite, mask, low_real, full_res=False)
    assert foreground_mse(composite) > 300
    assert foreground_mse(carried) < 2.0 < foreground_mse(upsampled)
    assert np.array_equal(carried[~inside], composite[~inside])
    with pytest.raises(ValueError, match=r'low_output: expected shape \(256, 256, 3\)'):
        reinhard.carry(composite, mask, low_real[:128])


def test_full_res_eval_oracle_scores_the_real_image_carried(reinhard, tiny_iharmony):
    """--oracle: the model is not run; the real image at the network's size is carried by the same path (the path's
    floor). Reference: carry() of the resized real image, scored at native size."""
    from toolkit.apis.full_res_eval import NATIVE_PROFILE, native_triplets
    from toolkit.datasets.transforms.processing import resize_image
    from toolkit.metrics.harmonization_metric import native_image_metrics
    result = compare_full_res(reinhard, tiny_iharmony, min_side=0, oracle=True)
    assert result['oracle'] is True
    for row, (info, composite, real, mask) in zip(result['per_image'], native_triplets(tiny_iharmony)):
        assert row['name'] == info['name']
        low_real = resize_image(real, (256, 256))
        for output, full_res in (('full-resolution transfer', True), ('bilinear upsampling', False)):
            expected = reinhard.carry(composite, mask, low_real, full_res=full_res)
            assert row[output] == native_image_metrics(expected, real, mask, NATIVE_PROFILE)
        assert row['full-resolution transfer']['fMSE'] < row['input composite']['fMSE']
    harmonized = compare_full_res(reinhard, tiny_iharmony, min_side=0)
    assert harmonized['oracle'] is False and harmonized['per_image'] != result['per_image']
    # the tool: no MODEL with --oracle, the result named "oracle"; a MODEL with it (or neither) is one clear line
    import json
    import subprocess
    import sys
    tool = os.path.join(REPO_ROOT, 'tools', 'full_res_eval.py')
    out = os.path.join(tiny_iharmony, '..', 'floor.json')
    done = subprocess.run([sys.executable, tool, '--oracle', '--data-root', tiny_iharmony, '--min-side', '0',
                           '--out', out], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    with open(out, encoding='utf-8') as handle:
        written = json.load(handle)
    assert written['model'] == 'oracle' and written['oracle'] is True
    assert written['per_image'] == json.loads(json.dumps(result['per_image']))
    for extra in (['reinhard-lab', '--oracle'], []):
        refused = subprocess.run([sys.executable, tool, *extra, '--data-root', tiny_iharmony], capture_output=True,
                                 text=True, timeout=600)
        assert refused.returncode == 2 and 'Traceback' not in refused.stderr
        assert ('not both' if extra else 'MODEL is required') in refused.stderr
