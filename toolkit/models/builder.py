from __future__ import annotations

import os.path as osp
from typing import Union

from mmengine.config import Config
from mmengine.registry import DefaultScope


def build_model_from_config(config: Union[str, Config]):
    """Build the ``model`` of a config file (or :class:`Config`) in the ``toolkit`` scope.

    Reading the file runs its ``custom_imports`` (plugins); core modules and entry-point
    plugins are registered first. Returns ``(model, cfg)``; the model is left in train mode on
    the CPU, without weights.

    Raises:
        FileNotFoundError: the config file does not exist.
    """
    from toolkit.registry import MODELS
    from toolkit.utils import register_all_modules
    if isinstance(config, str):
        if not osp.isfile(config):
            raise FileNotFoundError(f'config {config} does not exist')
        config = Config.fromfile(config)
    register_all_modules(init_default_scope=False)
    with DefaultScope.overwrite_default_scope('toolkit'):
        return MODELS.build(config.model), config
