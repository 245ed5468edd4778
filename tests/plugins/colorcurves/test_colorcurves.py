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
