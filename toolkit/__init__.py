"""HarmonyZoo core: registries, interfaces, data, metrics and the harmonizer base model.

The core knows no particular method; plugins register backbones, fusion blocks,
losses, retrievers and metrics into :mod:`toolkit.registry`.
"""
from .version import __version__

__all__ = ['__version__']
