from .hooks import HarmonizationVisualizationHook
from .optim import CPUAmpOptimWrapper
from .wrappers import EvaluationWrapper

__all__ = ['HarmonizationVisualizationHook', 'CPUAmpOptimWrapper', 'EvaluationWrapper']
