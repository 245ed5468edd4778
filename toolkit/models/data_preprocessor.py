from __future__ import annotations

from typing import Sequence

import torch
from mmengine.model import BaseDataPreprocessor
from torch import Tensor

from toolkit.interfaces import check_mask
from toolkit.registry import MODELS


@MODELS.register_module()
class HarmonizationDataPreprocessor(BaseDataPreprocessor):
    """Stack a batch, move it to the device and normalise images (never the mask).

    ``image = (uint8_value - mean) / std`` per channel; the default maps 0–255 to
    [-1, 1]. Use ``mean=(0,0,0), std=(255,255,255)`` for [0, 1].

    Input (from :class:`~toolkit.datasets.transforms.PackHarmonizationInputs`):
    ``inputs`` is a list of dicts (or a collated dict) with ``composite`` (3, H, W)
    uint8, ``mask`` (1, H, W) float and optional ``references`` (R, 3, H, W) uint8.

    Output ``inputs``: ``composite`` (B, 3, H, W) float normalised, ``mask``
    (B, 1, H, W) in [0, 1], and ``references`` (B, R, 3, H, W) normalised when present. When the
    examples have different numbers of references (some none), the short ones are padded with zero
    images and ``reference_valid`` (B, R) bool says which are real.
    Data samples keep their uint8 ``gt_img``; :meth:`stack_gt` gives the normalised
    target batch for losses.

    Example:
        >>> import torch
        >>> pre = HarmonizationDataPreprocessor()
        >>> batch = dict(inputs=[dict(composite=torch.full((3, 2, 2), 255, dtype=torch.uint8),
        ...                           mask=torch.ones(1, 2, 2))], data_samples=None)
        >>> pre(batch)['inputs']['composite'].unique().tolist()
        [1.0]
    """

    def __init__(self, mean: Sequence[float] = (127.5, 127.5, 127.5), std: Sequence[float] = (127.5, 127.5, 127.5)):
        super().__init__()
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0:
            raise ValueError(f'mean and std must have 3 entries with std > 0; got {mean}, {std}')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 3, 1, 1), persistent=False)

    def normalize(self, images: Tensor) -> Tensor:
        """``(..., 3, H, W)`` on 0–255 → normalised float."""
        shape = images.shape
        flat = images.reshape(-1, 3, *shape[-2:]).float()
        return ((flat - self.mean) / self.std).reshape(shape)

    def denormalize(self, images: Tensor) -> Tensor:
        """Normalised ``(..., 3, H, W)`` → float on 0–255 (not clipped)."""
        shape = images.shape
        flat = images.reshape(-1, 3, *shape[-2:]).float()
        return (flat * self.std + self.mean).reshape(shape)

    def stack_gt(self, data_samples: Sequence) -> Tensor:
        """Normalised ground-truth batch ``(B, 3, H, W)`` from the samples' uint8 ``gt_img``."""
        missing = [sample.metainfo.get('composite_path', index) for index, sample in enumerate(data_samples)
                   if sample.get('gt_img') is None]
        if missing:
            raise ValueError(f'ground truth missing for {missing}; training needs triplets')
        return self.normalize(torch.stack([sample.gt_img for sample in data_samples]).to(self.mean.device))

    @staticmethod
    def _pad_references(references: list, counts: list[int]) -> tuple[list, Tensor]:
        """Examples with fewer (or no) references are padded with zero images; ``(B, R)`` marks the real ones."""
        template = next(refs for refs in references if refs is not None and refs.shape[0])
        padded = []
        for refs, count in zip(references, counts):
            filler = template.new_zeros((max(counts) - count, *template.shape[1:]))
            padded.append(filler if refs is None else torch.cat([refs, filler]))
        valid = torch.tensor([[index < count for index in range(max(counts))] for count in counts])
        return padded, valid

    @classmethod
    def _collate(cls, inputs) -> dict:
        """Accept a list of per-example dicts, or a dict of lists (``pseudo_collate``) or of tensors."""
        if not isinstance(inputs, dict):
            keys = dict.fromkeys(key for item in inputs for key in item)
            inputs = {key: [item.get(key) for item in inputs] for key in keys}
        references = inputs.get('references')
        if isinstance(references, list):
            counts = [0 if refs is None else refs.shape[0] for refs in references]
            if not any(counts):
                inputs = {key: value for key, value in inputs.items() if key != 'references'}
            elif len(set(counts)) > 1:
                inputs = dict(inputs)
                inputs['references'], inputs['reference_valid'] = cls._pad_references(references, counts)
        batch = {}
        for key, value in inputs.items():
            if isinstance(value, torch.Tensor):
                batch[key] = value
                continue
            shapes = {tuple(item.shape) for item in value}
            if len(shapes) > 1:
                raise ValueError(f'cannot batch {key!r} of different shapes {sorted(shapes)}; resize every '
                                 'example to one size (or use batch size 1)')
            batch[key] = torch.stack(list(value))
        return batch

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = self._collate(data['inputs'])
        if 'composite' not in inputs or 'mask' not in inputs:
            raise KeyError(f'inputs must contain "composite" and "mask"; got {sorted(inputs)}')
        mask = inputs['mask'].float()
        check_mask(mask, inputs['composite'])
        batch = dict(composite=self.normalize(inputs['composite']), mask=mask)
        if 'references' in inputs:
            batch['references'] = self.normalize(inputs['references'])
            if 'reference_valid' in inputs:
                batch['reference_valid'] = inputs['reference_valid'].bool()
        return dict(inputs=batch, data_samples=data.get('data_samples'))
