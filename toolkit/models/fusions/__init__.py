from .identity import IdentityFusion
from .normalization import RAIN, AdaIN

__all__ = ['IdentityFusion', 'RAIN', 'AdaIN']
