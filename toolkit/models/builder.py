from __future__ import annotations

import os.path as osp
from typing import Union

from mmengine.config import Config
from mmengine.registry import DefaultScope


def build_model_from_config(config: Union[str, Config]):
    """Build the ``model`` of a config file (or :class:`Config`) in the ``toolkit`` scope.

    Reading the file runs its ``custom_imports``; installed plugins (the ``harmonyzoo.plugins`` entry
    points, which include the first-party ones) are imported first, and the registries import the core
    modules they need themselves. Returns ``(model, cfg)``; the model is left in train mode on the CPU,
    without weights.

    Raises:
        FileNotFoundError: the config file does not exist.
    """
    from toolkit.registry import MODELS, load_plugins
    load_plugins()
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config {config} does not exist')
        config = Config.fromfile(config)
    with DefaultScope.overwrite_default_scope('toolkit'):
        return MODELS.build(config.model), config
