from .full_res import apply_local_affine, fit_local_affine, upsample_colour_transform
from .harmonizer import Harmonizer, load_image_input, load_mask_input

__all__ = ['Harmonizer', 'load_image_input', 'load_mask_input', 'fit_local_affine', 'apply_local_affine',
           'upsample_colour_transform']
