from .resunet import ResUNet
from .unet import UNet

__all__ = ['ResUNet', 'UNet']
