"""The colour-curve transform: its NumPy/OpenCV full-resolution path is the torch formula, to float32 precision."""
import numpy as np
import torch

from plugins.colorcurves.colorcurves import AffineCurveTransform


def _random_transform(seed: int, segments: int = 16) -> AffineCurveTransform:
    generator = torch.Generator().manual_seed(seed)
    matrix = torch.eye(3, dtype=torch.float64) + 0.3 * torch.randn(1, 3, 3, generator=generator, dtype=torch.float64)
    offset = 0.2 * torch.randn(1, 3, generator=generator, dtype=torch.float64)
    steps = torch.rand(1, 3, segments, generator=generator, dtype=torch.float64) * 2 / segments
    start = 0.1 * torch.randn(1, 3, 1, generator=generator, dtype=torch.float64)
    return AffineCurveTransform(matrix, offset, torch.cat([start, start + steps.cumsum(-1)], -1))


def test_levels_path_equals_the_torch_transform_including_extrapolation():
    """Values mapped outside [0, 1] by the matrix use the end segments' linear extension in both paths."""
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    pixels[0, :8] = [[0, 0, 0], [255, 255, 255], [255, 0, 0], [0, 255, 0], [0, 0, 255], [1, 2, 3], [254, 1, 128],
                     [128, 128, 128]]
    for seed in range(5):
        transform = _random_transform(seed)
        unit = torch.from_numpy(pixels.transpose(2, 0, 1)).double()[None] / 255.0
        mixed = torch.einsum('bci,bihw->bchw', transform.matrix, unit) + transform.offset[..., None, None]
        reference = transform.curve(mixed)[0].permute(1, 2, 0).numpy() * 255.0  # unclipped, float64
        assert (mixed < 0).any() and (mixed > 1).any()  # the extension is exercised
        levels = transform.apply_levels(pixels)
        assert levels.dtype == np.float32 and levels.shape == pixels.shape
        np.testing.assert_allclose(levels, reference, atol=2e-3)
        # and clipped as __call__ does
        np.testing.assert_allclose(np.clip(levels, 0, 255) / 255.0, transform(unit)[0].permute(1, 2, 0).numpy(),
                                   atol=1e-5)


def test_boundary_bands_match_binary_morphology():
    """Inner band = mask minus its erosion, outer = dilation minus mask (scipy.ndimage with the same square); the
    image border is no edge."""
    from scipy import ndimage

    from plugins.colorcurves.colorcurves import boundary_bands
    generator = np.random.default_rng(0)
    mask = np.zeros((2, 24, 20), bool)
    mask[0, 5:15, 4:12] = True
    mask[0, 16:19, 14:18] = True  # a second object, closer to the border than the band is wide
    mask[1, :9, 6:20] = True  # touches the top and right borders
    mask[1] |= generator.random((24, 20)) > 0.97  # specks: erased by erosion, inner band = the specks
    for width in (1, 2):
        structure = np.ones((2 * width + 1,) * 2, bool)
        inner, outer = boundary_bands(torch.from_numpy(mask[:, None].astype(np.float32)), width)
        for index in range(2):
            # outside the image counts as foreground for erosion (border_value=1), as background for dilation
            eroded = ndimage.binary_erosion(mask[index], structure, border_value=1)
            dilated = ndimage.binary_dilation(mask[index], structure)
            np.testing.assert_array_equal(inner[index, 0].numpy(), (mask[index] & ~eroded).astype(np.float32))
            np.testing.assert_array_equal(outer[index, 0].numpy(), (dilated & ~mask[index]).astype(np.float32))


def test_boundary_statistics_read_the_bands_not_the_regions():
    """A foreground whose edge band is red inside a background whose edge band is blue: the band means are those
    colours, whatever the interiors hold (hand-computed)."""
    from plugins.colorcurves.colorcurves import boundary_statistics
    image = torch.zeros(1, 3, 16, 16)
    mask = torch.zeros(1, 1, 16, 16)
    mask[..., 4:12, 4:12] = 1
    image[:, 0, 4:12, 4:12] = 1.0  # foreground red …
    image[:, :, 6:10, 6:10] = 0.5  # … with a grey interior the inner band (width 1) does not reach
    image[:, 2] = torch.where(mask[0, 0] > 0, image[:, 2], torch.ones(16, 16))  # background blue
    image[:, :, :2] = 0.25  # a far background strip the outer band does not reach
    features = boundary_statistics(image, mask, width=1, bins=4, size=16)
    inner_mean, inner_std, outer_mean = features[0, :3], features[0, 3:6], features[0, 18:21]
    torch.testing.assert_close(inner_mean, torch.tensor([1.0, 0.0, 0.0]))
    torch.testing.assert_close(inner_std, torch.zeros(3))
    torch.testing.assert_close(outer_mean, torch.tensor([0.0, 0.0, 1.0]))
    assert features.shape == (1, 2 * 3 * (2 + 4))


def test_weights_without_boundary_inputs_warm_start_a_model_with_them_unchanged():
    """Loading weights trained without the band inputs gives their outputs exactly (the new inputs start at zero)
    and only then can training move them; a head of any other width still refuses to load."""
    from plugins.colorcurves.colorcurves import ColorCurveHarmonizer
    torch.manual_seed(0)
    settings = dict(channels=(4, 8), hidden=8, segments=4, histogram_bins=4, losses=dict(type='ForegroundMSELoss'))
    plain = ColorCurveHarmonizer(**settings).eval()
    with torch.no_grad():  # a trained-looking head: the identity start would hide a wrong column order
        for parameter in plain.head.parameters():
            parameter.normal_(0, 0.1)
    with_bands = ColorCurveHarmonizer(boundary_width=2, **settings).eval()
    with_bands.load_state_dict(plain.state_dict())
    composite = torch.rand(2, 3, 32, 32) * 2 - 1
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:24, 6:20] = 1
    with torch.no_grad():
        expected = plain(dict(composite=composite, mask=mask))
        torch.testing.assert_close(with_bands(dict(composite=composite, mask=mask)), expected)
        with_bands.head[0].weight[:, -1] += 1  # the band inputs are read
        assert not torch.allclose(with_bands(dict(composite=composite, mask=mask)), expected)
    narrower = ColorCurveHarmonizer(**{**settings, 'channels': (4, 6)})
    try:
        with_bands.load_state_dict(narrower.state_dict())
    except RuntimeError as error:
        assert 'size mismatch' in str(error)
    else:
        raise AssertionError('a head of another width loaded')
