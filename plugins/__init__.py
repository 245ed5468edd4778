"""First-party HarmonyZoo method plugins, one sub-package per method family.

A config loads a family with ``custom_imports = dict(imports=['plugins.<family>'])``;
importing the sub-package registers its backbones, fusion blocks, losses, retrievers
and models in :mod:`toolkit.registry`. The core never imports these by name.
"""
