import cv2
import numpy as np
import pytest
from PIL import Image

from tests.conftest import write_gray, write_rgb
from toolkit.datasets.io import HarmonizationDataError, read_image, read_mask


def test_rgba_with_opaque_alpha_is_read_as_rgb(tmp_path):
    rgba = np.zeros((4, 5, 4), np.uint8)
    rgba[..., 0] = 200  # red
    rgba[..., 3] = 255
    path = str(tmp_path / 'a.png')
    Image.fromarray(rgba, 'RGBA').save(path)
    image = read_image(path)
    assert image.shape == (4, 5, 3) and image.dtype == np.uint8
    assert (image[..., 0] == 200).all() and (image[..., 1:] == 0).all()


def test_rgba_with_transparency_is_refused_naming_the_file(tmp_path):
    rgba = np.full((4, 5, 4), 255, np.uint8)
    rgba[0, 0, 3] = 10
    path = str(tmp_path / 'see-through.png')
    Image.fromarray(rgba, 'RGBA').save(path)
    with pytest.raises(HarmonizationDataError, match='see-through.png.*transparent'):
        read_image(path)


def test_16bit_png_is_scaled_to_8bit(tmp_path):
    import cv2
    image16 = np.full((3, 3, 3), 65535, np.uint16)
    image16[0, 0] = 257 * 10
    path = str(tmp_path / 'deep.png')
    cv2.imwrite(path, image16)
    image = read_image(path)
    assert image.dtype == np.uint8
    assert image[1, 1].tolist() == [255, 255, 255] and image[0, 0].tolist() == [10, 10, 10]


def test_grayscale_image_is_replicated(tmp_path):
    path = str(tmp_path / 'gray.png')
    write_gray(path, np.arange(12, dtype=np.uint8).reshape(3, 4))
    image = read_image(path)
    assert image.shape == (3, 4, 3)
    assert (image[..., 0] == image[..., 2]).all() and image[2, 3, 1] == 11


def test_unreadable_and_missing_files_name_the_path(tmp_path):
    broken = tmp_path / 'broken.jpg'
    broken.write_bytes(b'not a jpeg')
    with pytest.raises(HarmonizationDataError, match='broken.jpg: cannot decode'):
        read_image(str(broken))
    with pytest.raises(HarmonizationDataError, match='nothing.png: file does not exist'):
        read_mask(str(tmp_path / 'nothing.png'))


def test_exif_orientation_is_applied(tmp_path):
    # a 16x32 image tagged "rotate 90 CW" (orientation 6) must come back as 32x16
    pixels = np.zeros((16, 32, 3), np.uint8)
    pixels[:8, :8] = (255, 0, 0)
    pil = Image.fromarray(pixels)
    exif = pil.getexif()
    exif[0x0112] = 6
    path = str(tmp_path / 'rotated.jpg')
    pil.save(path, exif=exif, quality=100)
    image = read_image(path)
    assert image.shape == (32, 16, 3)
    # the top-left red block ends up top-right after a clockwise quarter turn
    assert image[3, 12, 0] > 200 and image[3, 3, 0] < 60


def test_three_channel_and_soft_masks(tmp_path):
    path = str(tmp_path / 'm.png')
    mask = np.zeros((4, 4, 3), np.uint8)
    mask[1:3, 1:3] = 255
    mask[0, 0] = 128
    write_rgb(path, mask)
    loaded = read_mask(path)
    assert loaded.shape == (4, 4) and loaded.dtype == np.float32
    assert loaded[1, 1] == 1.0 and loaded[3, 3] == 0.0
    assert loaded[0, 0] == pytest.approx(128 / 255)


def test_mask_with_disagreeing_channels_is_refused(tmp_path):
    path = str(tmp_path / 'colour.png')
    mask = np.zeros((4, 4, 3), np.uint8)
    mask[..., 0] = 255
    write_rgb(path, mask)
    with pytest.raises(HarmonizationDataError, match='colour.png: mask channels differ'):
        read_mask(path)


def test_files_and_arrays_follow_one_mask_rule(tmp_path):
    """The same mask as a file and as an array gives the same result, including 3-channel masks whose channels
    disagree (arrays used to be averaged unchecked while files were refused)."""
    from toolkit.apis import load_mask_input
    rng = np.random.default_rng(0)
    gray = (rng.random((20, 30)) > 0.5).astype(np.uint8) * 255
    agreeing = np.dstack([gray, np.clip(gray.astype(int) + 3, 0, 255).astype(np.uint8), gray])  # JPEG-like noise
    disagreeing = np.dstack([gray, 255 - gray, gray])
    for name, mask in (('agreeing', agreeing), ('disagreeing', disagreeing), ('labels', (gray > 0).astype(np.uint8))):
        path = str(tmp_path / f'{name}.png')
        cv2.imwrite(path, mask)
        as_file = as_array = None
        try:
            as_file = read_mask(path, dtype=np.uint8)
        except HarmonizationDataError as error:
            as_file = str(error).replace(path, 'X')
        try:
            as_array = load_mask_input(mask[..., ::-1] if mask.ndim == 3 else mask, 'X', dtype=np.uint8)
        except HarmonizationDataError as error:
            as_array = str(error)
        if isinstance(as_file, str):
            assert as_array == as_file and 'mask channels differ' in as_file, name
        else:
            np.testing.assert_array_equal(as_array, as_file)
    # floats: [0, 1] and 0–255 both read as the same mask; a soft float value survives the 3-channel path
    soft = np.array([[0.0, 0.25, 1.0]], np.float32)
    np.testing.assert_allclose(load_mask_input(np.dstack([soft] * 3)), soft, atol=1e-6)
    np.testing.assert_allclose(load_mask_input(soft * 255.0), soft, atol=1e-6)
