from .formatting import PackHarmonizationInputs
from .loading import LoadHarmonizationImages
from .processing import (
    BinarizeMask,
    ForegroundDesaturation,
    RandomFlip,
    RandomResizedCrop,
    Resize,
    resize_image,
    resize_mask,
    shift_saturation_hue,
)

__all__ = ['LoadHarmonizationImages', 'Resize', 'RandomResizedCrop', 'RandomFlip', 'BinarizeMask',
           'PackHarmonizationInputs', 'ForegroundDesaturation', 'resize_image', 'resize_mask', 'shift_saturation_hue']
