from .masked_stats import masked_mean_std, resize_mask_to

__all__ = ['masked_mean_std', 'resize_mask_to']
