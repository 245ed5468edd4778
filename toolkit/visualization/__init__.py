from .grid import comparison_grid

__all__ = ['comparison_grid']
