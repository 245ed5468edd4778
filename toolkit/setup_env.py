"""``register_all_modules``: the top room of the house, called by entry points only (the CLI's training tools,
``tools/*.py``, tests), never from below.

It imports every core module so its classes register, the installed plugins, and MMEngine's ``hf://``
checkpoint scheme, and makes ``toolkit`` the default registry scope. Library code does not need it: the
registries import the modules they need (their ``locations``) and the model builder and runner load plugins
themselves (:func:`toolkit.registry.load_plugins`).
"""
from __future__ import annotations

import datetime
import warnings

from mmengine import DefaultScope

from toolkit.registry import load_plugins


def register_all_modules(init_default_scope: bool = True, with_plugins: bool = True) -> None:
    """Import every core module so its classes register, then installed plugins.

    Args:
        init_default_scope: make ``toolkit`` the default registry scope, so configs
            without ``default_scope`` still resolve ``type='...'`` here.
        with_plugins: also import the ``harmonyzoo.plugins`` entry points.
    """
    import toolkit.checkpoint  # noqa: F401  (safe local checkpoint loader)
    import toolkit.zoo
    toolkit.zoo.register_checkpoint_scheme()  # hf:// checkpoints, checked against the model index
    import toolkit.datasets  # noqa: F401
    import toolkit.engine  # noqa: F401
    import toolkit.metrics  # noqa: F401
    import toolkit.models  # noqa: F401
    import toolkit.retrieval  # noqa: F401
    import toolkit.visualization  # noqa: F401

    if with_plugins:
        load_plugins()
    if not init_default_scope:
        return
    current = DefaultScope.get_current_instance()
    if current is None:
        DefaultScope.get_instance('toolkit', scope_name='toolkit')
    elif current.scope_name != 'toolkit':
        warnings.warn(f'The current default scope "{current.scope_name}" is not "toolkit"; '
                      'a new default scope "toolkit" is created for HarmonyZoo.', stacklevel=2)
        # instance names must be unique, so suffix the creation time
        stamp = datetime.datetime.now().strftime('%Y%m%d-%H%M%S-%f')
        DefaultScope.get_instance(f'toolkit-{stamp}', scope_name='toolkit')
