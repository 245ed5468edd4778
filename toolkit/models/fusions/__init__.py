from .identity import IdentityFusion

__all__ = ['IdentityFusion']
