"""Reading an MMEngine config file with ``--cfg-options`` overrides: one function for everything that reads
configs (the zoo, retrieval, the training and test launchers), low in the house so none of them imports another.
"""
from __future__ import annotations

import os.path as osp
from typing import Optional

from mmengine.config import Config


def read_config(config: str, cfg_options: Optional[dict] = None) -> Config:
    """The config at ``config`` with ``cfg_options`` (``{'model.fusion.type': 'RAIN'}``) merged in.

    Raises:
        FileNotFoundError: the file does not exist (named).
    """
    if not osp.isfile(config):
        raise FileNotFoundError(f'config {config} does not exist')
    cfg = Config.fromfile(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    return cfg
