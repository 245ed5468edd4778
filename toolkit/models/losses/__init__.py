from .pixel import ForegroundL1Loss, ForegroundMSELoss, L1Loss, MSELoss, RelativeForegroundMSELoss
from .structural import ForegroundSSIMLoss

__all__ = ['L1Loss', 'MSELoss', 'ForegroundL1Loss', 'ForegroundMSELoss', 'RelativeForegroundMSELoss',
           'ForegroundSSIMLoss']
