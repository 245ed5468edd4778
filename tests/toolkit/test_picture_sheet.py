"""Picture sheets (tools/picture_sheet.py): what each column shows, at the composites' size or resized."""
import glob
import os
import subprocess
import sys

import cv2
import numpy as np

from toolkit.apis import Harmonizer
from toolkit.datasets import read_image, read_mask
from toolkit.datasets.transforms.processing import resize_image, resize_mask

TOOL = os.path.join(os.path.dirname(__file__), '..', '..', 'tools', 'picture_sheet.py')


def test_a_resized_sheet_shows_what_each_harmonizer_gives_at_that_size(tiny_iharmony, monkeypatch):
    from toolkit.visualization import sheet
    shown = {}
    monkeypatch.setattr(sheet, 'picture_sheet', lambda rows, names, height: shown.update(rows=rows, names=names))
    carried = Harmonizer.from_pretrained('reinhard-lab')
    as_is = Harmonizer(carried.model, full_res=False)
    composites = sorted(glob.glob(os.path.join(tiny_iharmony, '*', 'composite_images', '*')))[:2]
    masks = [glob.glob(os.path.join(os.path.dirname(os.path.dirname(path)), 'masks',
                                    os.path.basename(path).rsplit('_', 1)[0] + '.png'))[0] for path in composites]
    sheet.sheet_from_folder({'carried': carried, 'as is': as_is}, composites, masks, size=64)
    assert shown['names'] == ['carried', 'as is']
    for row, composite_path, mask_path in zip(shown['rows'], composites, masks):
        composite = resize_image(read_image(composite_path), (64, 64))
        mask = resize_mask(read_mask(mask_path), (64, 64))
        assert row['label'].endswith('(64x64)') and np.array_equal(row['composite'], composite)
        assert np.array_equal(row['outputs'][0], carried.harmonize(composite, mask))
        assert np.array_equal(row['outputs'][1], as_is.harmonize(composite, mask, full_res=False))


def test_the_tool_adds_an_as_is_column_per_model(tiny_iharmony, tmp_path):
    widths = []
    for extra in ([], ['--as-is']):
        out = tmp_path / f'sheet{len(extra)}.png'
        done = subprocess.run([sys.executable, TOOL, tiny_iharmony, 'reinhard-lab', '-o', str(out), '--size', '64',
                               '--max-images', '1', *extra], capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        widths.append(cv2.imread(str(out)).shape[1])
    assert widths[1] > widths[0]  # one more image column
