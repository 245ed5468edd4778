"""Discovery of third-party plugins through the ``harmonyzoo.plugins`` entry-point group.

A pip-installed package declares, in its own ``setup.cfg``::

    [options.entry_points]
    harmonyzoo.plugins =
        my_method = my_package.harmonyzoo_plugin

Importing that module registers its backbones, fusions, losses, ... in the
``toolkit`` registries. First-party plugins under ``plugins/`` are loaded the
same way a config asks for them: ``custom_imports = dict(imports=['plugins.x'])``.
The core never imports a plugin by name.
"""
from __future__ import annotations

import importlib
from importlib.metadata import entry_points

from mmengine.logging import print_log

PLUGIN_ENTRY_POINT_GROUP = 'harmonyzoo.plugins'


def load_plugins(group: str = PLUGIN_ENTRY_POINT_GROUP, strict: bool = False) -> list[str]:
    """Import every module advertised in the entry-point ``group``.

    Args:
        group: entry-point group name.
        strict: raise when a plugin fails to import instead of logging a warning.

    Returns:
        The names of the modules that were imported.
    """
    loaded = []
    for entry_point in entry_points(group=group):
        try:
            entry_point.load()
        except Exception as error:  # a broken third-party plugin must not break the toolkit
            if strict:
                raise ImportError(f'HarmonyZoo plugin {entry_point.name!r} ({entry_point.value}) failed to '
                                  f'import: {error}') from error
            print_log(f'Skipping HarmonyZoo plugin {entry_point.name!r} ({entry_point.value}): {error}',
                      logger='current', level=30)
            continue
        loaded.append(entry_point.value)
    return loaded


def import_modules(names: list[str]) -> None:
    """Import modules by dotted name (what ``custom_imports`` does, usable outside a config)."""
    for name in names:
        importlib.import_module(name)
