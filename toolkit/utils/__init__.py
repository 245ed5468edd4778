from .plugins import PLUGIN_ENTRY_POINT_GROUP, load_plugins
from .setup_env import register_all_modules

__all__ = ['PLUGIN_ENTRY_POINT_GROUP', 'load_plugins', 'register_all_modules']
