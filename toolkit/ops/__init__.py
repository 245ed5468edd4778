from .color import lab_to_rgb, rgb_to_lab
from .color_fit import affine_levels, fit_global_affine, levels_matrix
from .histogram import match_cumulative_cdf
from .masked_stats import masked_mean_std, resize_mask_to
from .precision import float32_op

__all__ = ['masked_mean_std', 'resize_mask_to', 'rgb_to_lab', 'lab_to_rgb', 'match_cumulative_cdf',
           'fit_global_affine', 'levels_matrix', 'affine_levels', 'float32_op']
