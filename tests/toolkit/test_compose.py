"""Placing a cut-out on a background (`harmony compose`, the page's third way in) against the compositing formula."""
import os

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from toolkit.apis.compose import paste_cutout, read_cutout
from toolkit.cli import main as harmony
from toolkit.datasets import HarmonizationDataError, read_image, read_mask


def _cutout(seed=0, size=(20, 30)):
    rng = np.random.default_rng(seed)
    cutout = rng.integers(0, 256, (*size, 4), dtype=np.uint8)
    cutout[..., 3] = 0
    cutout[3:17, 5:25, 3] = 255
    cutout[2, 5:25, 3] = 128  # a soft edge
    return cutout


def test_unscaled_paste_is_the_over_operator():
    """scale 1: composite = round(F·α + B·(1 − α)) where the cut-out lies, B elsewhere; mask = α (hand formula)."""
    cutout = _cutout()
    background = np.random.default_rng(1).integers(0, 256, (50, 60, 3), dtype=np.uint8)
    composite, mask = paste_cutout(cutout, background, x=7, y=11)
    alpha = cutout[..., 3:].astype(np.float64) / 255
    expected = background.astype(np.float64).copy()
    expected[11:31, 7:37] = cutout[..., :3] * alpha + background[11:31, 7:37] * (1 - alpha)
    assert np.abs(composite - expected).max() <= 0.5 + 1e-4
    expected_mask = np.zeros((50, 60), np.uint8)
    expected_mask[11:31, 7:37] = cutout[..., 3]
    np.testing.assert_array_equal(mask, expected_mask)


def test_partly_outside_and_entirely_outside():
    cutout = _cutout()
    background = np.zeros((40, 40, 3), np.uint8)
    composite, mask = paste_cutout(cutout, background, x=-10, y=30)  # left and bottom parts cut off
    np.testing.assert_array_equal(mask[30:40, 0:20], cutout[:10, 10:30, 3])
    assert mask[:30].max() == 0
    with pytest.raises(HarmonizationDataError, match='outside'):
        paste_cutout(cutout, background, x=100, y=0)


def test_scaled_paste_resamples_premultiplied_colour():
    """An opaque red square with an invisible green border: scaled, no green may leak into the edge."""
    cutout = np.zeros((16, 16, 4), np.uint8)
    cutout[..., 1] = 255  # invisible green
    cutout[4:12, 4:12] = (255, 0, 0, 255)
    composite, mask = paste_cutout(cutout, np.zeros((64, 64, 3), np.uint8), x=0, y=0, scale=2.5)
    edge = (mask > 0) & (mask < 255)
    assert edge.any() and composite[..., 1][edge].max() == 0  # straight (non-premultiplied) resizing leaks green
    assert mask.shape == (64, 64) and (mask == 255).sum() > 0


def test_centred_by_default_and_refuses_cutouts_without_alpha(tmp_path):
    cutout = _cutout()
    _, mask = paste_cutout(cutout, np.zeros((40, 50, 3), np.uint8))
    rows, cols = np.nonzero(mask == 255)
    assert (rows.min(), cols.min()) == ((40 - 20) // 2 + 3, (50 - 30) // 2 + 5)
    path = tmp_path / 'opaque.jpg'
    cv2.imwrite(str(path), cutout[..., :3])
    with pytest.raises(HarmonizationDataError, match='alpha channel'):
        read_cutout(str(path))


def test_cli_compose_writes_what_paste_cutout_makes(tmp_path):
    cutout = _cutout()
    cv2.imwrite(str(tmp_path / 'object.png'), cv2.cvtColor(cutout, cv2.COLOR_RGBA2BGRA))
    background = np.random.default_rng(2).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'background.png'), background[..., ::-1])
    result = CliRunner().invoke(harmony, ['compose', str(tmp_path / 'object.png'), str(tmp_path / 'background.png'),
                                          '-o', str(tmp_path / 'c.png'), '--mask-output', str(tmp_path / 'm.png'),
                                          '--x', '3', '--y', '4', '--scale', '0.8'])
    assert result.exit_code == 0, result.output
    expected_composite, expected_mask = paste_cutout(cutout, background, 3, 4, 0.8)
    np.testing.assert_array_equal(read_image(str(tmp_path / 'c.png')), expected_composite)
    np.testing.assert_array_equal(read_mask(str(tmp_path / 'm.png'), dtype=np.uint8), expected_mask)
    # and harmonize takes them as they are
    result = CliRunner().invoke(harmony, ['harmonize', '-m', 'reinhard-lab', str(tmp_path / 'c.png'),
                                          str(tmp_path / 'm.png'), '-o', str(tmp_path / 'h.png')])
    assert result.exit_code == 0, result.output
    assert os.path.isfile(tmp_path / 'h.png')
