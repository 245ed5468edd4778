from .formatting import PackHarmonizationInputs
from .loading import LoadHarmonizationImages
from .processing import BinarizeMask, RandomFlip, RandomResizedCrop, Resize, resize_image, resize_mask

__all__ = ['LoadHarmonizationImages', 'Resize', 'RandomResizedCrop', 'RandomFlip', 'BinarizeMask',
           'PackHarmonizationInputs', 'resize_image', 'resize_mask']
