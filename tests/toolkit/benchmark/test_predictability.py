"""The error-predictability probe: input errors read as the leaderboard defines them, a regressor that finds evidence
where there is some and invents none where there is none, and a tool that refuses evaluation data."""
import os

import numpy as np
import pytest
import torch

from tests.conftest import write_gray, write_rgb
from toolkit.benchmark.predictability import composite_errors_and_features, fit_error_regressor, spearman


def _shifted_set(root, shifts):
    """One 32×32 composite per shift: the real image with the foreground square raised by ``shift`` levels."""
    lines = []
    for index, shift in enumerate(shifts):
        real = np.full((32, 32, 3), 100, np.uint8)
        real[:, :, 1] = np.arange(32, dtype=np.uint8)[None, :] * 4  # a gradient, so the area resize has work to do
        mask = np.zeros((32, 32), np.uint8)
        mask[8:24, 8:24] = 255
        composite = real.copy()
        composite[8:24, 8:24] += np.uint8(shift)
        name = f'p{index}'
        write_rgb(os.path.join(root, 'Synth', 'real_images', f'{name}.png'), real)
        write_gray(os.path.join(root, 'Synth', 'masks', f'{name}_1.png'), mask)
        write_rgb(os.path.join(root, 'Synth', 'composite_images', f'{name}_1_1.png'), composite)
        lines.append(f'Synth/composite_images/{name}_1_1.png')
    for split in ('train', 'test'):
        with open(os.path.join(root, f'IHD_{split}.txt'), 'w') as handle:
            handle.write('\n'.join(lines) + '\n')


def test_input_errors_are_the_foreground_mse_of_composite_against_real(tmp_path):
    root = str(tmp_path / 'set')
    _shifted_set(root, [0, 10, 30])
    seen = []

    def features(image, mask):
        seen.append((tuple(image.shape), tuple(mask.shape), float(mask.sum())))
        return torch.stack([image.mean(), mask.mean()])[None]

    values, errors, names = composite_errors_and_features(root, 'test', features, resolution=16)
    # a uniform shift s on every channel of the foreground: fMSE = s² (hand-computed), at any resize
    np.testing.assert_allclose(errors.numpy(), [0.0, 100.0, 900.0], atol=1e-9)
    assert values.shape == (3, 2) and names[1] == 'Synth/composite_images/p1_1_1.png'
    assert seen[0] == ((1, 3, 16, 16), (1, 1, 16, 16), 64.0)  # a quarter of 16² is foreground
    _, every_other, _ = composite_errors_and_features(root, 'train', features, resolution=16, every=2)
    np.testing.assert_allclose(every_other.numpy(), [0.0, 900.0])


def test_the_regressor_finds_evidence_only_where_there_is_some():
    generator = torch.Generator().manual_seed(1)
    errors = torch.rand(600, generator=generator, dtype=torch.float64) * 3000
    noise = torch.randn(600, 20, generator=generator)
    informative = torch.cat([torch.log1p(errors).float()[:, None] + 0.1 * torch.randn(600, 1, generator=generator),
                             noise], 1)
    with_evidence = fit_error_regressor(informative[:400], errors[:400], steps=800)
    without = fit_error_regressor(noise[:400], errors[:400], steps=800)
    assert spearman(with_evidence(informative[400:]).tolist(), errors[400:].tolist()) > 0.9
    assert abs(spearman(without(noise[400:]).tolist(), errors[400:].tolist())) < 0.25
    with pytest.raises(ValueError, match=r'features must be \(N, F\)'):
        fit_error_regressor(noise[:10], errors[:9])


def test_the_tool_refuses_evaluation_data(tmp_path):
    import subprocess
    import sys
    repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
    result = subprocess.run([sys.executable, os.path.join(repo, 'tools', 'error_predictability.py'), '--train',
                             str(tmp_path), '--dev', os.path.join(repo, 'data', 'samples')],
                            capture_output=True, text=True, cwd=repo)
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [f'error: {os.path.join(repo, "data", "samples")}: evaluation data; '
                                                  'this probe reads training and dev sets only']
