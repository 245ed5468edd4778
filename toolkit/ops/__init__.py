from .color import lab_to_rgb, rgb_to_lab
from .histogram import match_cumulative_cdf
from .masked_stats import masked_mean_std, resize_mask_to

__all__ = ['masked_mean_std', 'resize_mask_to', 'rgb_to_lab', 'lab_to_rgb', 'match_cumulative_cdf']
