from __future__ import annotations

import os.path as osp
from typing import Optional, Sequence

from mmengine.hooks import Hook

from toolkit.registry import HOOKS
from toolkit.visualization import comparison_grid


@HOOKS.register_module()
class HarmonizationVisualizationHook(Hook):
    """Write ``composite | prediction | target`` grids during validation and testing.

    Images go through the runner's visualizer (``LocalVisBackend`` → ``<work_dir>/<timestamp>/vis_data/vis_image``),
    named after the composite file, at most ``max_images`` per evaluation.

    Args:
        interval: visualise every ``interval``-th batch.
        max_images: cap per evaluation run.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 1, max_images: int = 8, enable_val: bool = True, enable_test: bool = True):
        self.interval = interval
        self.max_images = max_images
        self.enable = dict(val=enable_val, test=enable_test)
        self._written = 0

    def _reset(self, runner) -> None:
        self._written = 0

    before_val_epoch = _reset
    before_test_epoch = _reset

    def _draw(self, runner, mode: str, batch_idx: int, outputs: Optional[Sequence]) -> None:
        if not self.enable[mode] or not outputs or batch_idx % self.interval:
            return
        for sample in outputs:
            if self._written >= self.max_images:
                return
            columns = [sample.composite_img, sample.pred_img]
            if sample.get('gt_img') is not None:
                columns.append(sample.gt_img)
            name = osp.splitext(sample.metainfo.get('name', f'{mode}_{self._written}'))[0]
            name = name.replace('/composite_images/', '_').replace('/', '_')
            runner.visualizer.add_image(f'{mode}_{name}', comparison_grid(columns), step=runner.iter)
            self._written += 1

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, 'val', batch_idx, outputs)

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, 'test', batch_idx, outputs)
