from .s2am import S2AM, blur_taps

__all__ = ['S2AM', 'blur_taps']
