from .hooks import HarmonizationVisualizationHook

__all__ = ['HarmonizationVisualizationHook']
