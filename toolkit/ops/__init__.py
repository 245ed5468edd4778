from .color import lab_to_rgb, rgb_to_lab
from .color_fit import fit_global_affine
from .histogram import match_cumulative_cdf
from .masked_stats import masked_mean_std, resize_mask_to
from .precision import float32_op

__all__ = ['masked_mean_std', 'resize_mask_to', 'rgb_to_lab', 'lab_to_rgb', 'match_cumulative_cdf',
           'fit_global_affine', 'float32_op']
