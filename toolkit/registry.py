"""HarmonyZoo registries: one child of every MMEngine root registry, scope ``toolkit``.

Components register here and configs build them by ``type``. Registries with a
``locations`` list import those modules lazily the first time they are queried,
so ``build`` works without importing the whole package by hand.

Domain registries:

========== ===================== ===========================================
name       parent                what lives there
========== ===================== ===========================================
MODELS     mmengine MODELS       harmonizers, data preprocessors
METRICS    mmengine METRICS      evaluation metrics (BaseMetric subclasses)
DATASETS   mmengine DATASETS     datasets
TRANSFORMS mmengine TRANSFORMS   data pipeline transforms
BACKBONES  (own root)            encoder-decoder networks
FUSIONS    (own root)            decoder fusion blocks (one shared signature)
LOSSES     (own root)            training losses
RETRIEVERS (own root)            reference retrievers
========== ===================== ===========================================

MMEngine allows one child per scope under a parent, and ``MODELS`` already is
the ``toolkit`` child of MMEngine's ``MODELS``. So the typed component
registries are roots of their own in scope ``toolkit``: ``FUSIONS.module_dict``
lists exactly the fusion blocks, and a harmonizer builds its parts with
``BACKBONES.build(cfg)``, ``FUSIONS.build(cfg)``, ``LOSSES.build(cfg)``.
"""
import importlib
from importlib.metadata import entry_points

from mmengine.logging import print_log
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import FUNCTIONS as MMENGINE_FUNCTIONS
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import INFERENCERS as MMENGINE_INFERENCERS
from mmengine.registry import LOG_PROCESSORS as MMENGINE_LOG_PROCESSORS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import OPTIMIZERS as MMENGINE_OPTIMIZERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import RUNNER_CONSTRUCTORS as MMENGINE_RUNNER_CONSTRUCTORS
from mmengine.registry import RUNNERS as MMENGINE_RUNNERS
from mmengine.registry import STRATEGIES as MMENGINE_STRATEGIES
from mmengine.registry import TASK_UTILS as MMENGINE_TASK_UTILS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import VISBACKENDS as MMENGINE_VISBACKENDS
from mmengine.registry import VISUALIZERS as MMENGINE_VISUALIZERS
from mmengine.registry import WEIGHT_INITIALIZERS as MMENGINE_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'toolkit'

# --- domain registries -------------------------------------------------------
MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE, locations=['toolkit.models', 'toolkit.retrieval'])
BACKBONES = Registry('backbone', scope=SCOPE, locations=['toolkit.models.backbones'])
FUSIONS = Registry('fusion', scope=SCOPE, locations=['toolkit.models.fusions'])
LOSSES = Registry('loss', scope=SCOPE, locations=['toolkit.models.losses'])
RETRIEVERS = Registry('retriever', scope=SCOPE, locations=['toolkit.retrieval'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope=SCOPE, locations=['toolkit.metrics'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope=SCOPE, locations=['toolkit.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE,
                      locations=['toolkit.datasets.transforms'])

#: functions ``convert(source, destination, **options) -> state dict`` turning a released checkpoint into a
#: HarmonyZoo ``.safetensors`` file, by method name (``tools/convert_checkpoint.py METHOD``); each family keeps
#: its converter in its own ``convert.py``
CHECKPOINT_CONVERTERS = Registry('checkpoint converter', scope=SCOPE, locations=['toolkit.retrieval.convert'])

# --- every other root the Runner queries (so default_scope='toolkit' resolves here) ---
RUNNERS = Registry('runner', parent=MMENGINE_RUNNERS, scope=SCOPE)
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=MMENGINE_RUNNER_CONSTRUCTORS, scope=SCOPE)
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope=SCOPE)
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE, locations=['toolkit.engine'])
STRATEGIES = Registry('strategy', parent=MMENGINE_STRATEGIES, scope=SCOPE)
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope=SCOPE)
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE)
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=MMENGINE_WEIGHT_INITIALIZERS, scope=SCOPE)
OPTIMIZERS = Registry('optimizer', parent=MMENGINE_OPTIMIZERS, scope=SCOPE)
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE)
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor',
                                      parent=MMENGINE_OPTIM_WRAPPER_CONSTRUCTORS, scope=SCOPE)
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope=SCOPE)
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope=SCOPE)
TASK_UTILS = Registry('task util', parent=MMENGINE_TASK_UTILS, scope=SCOPE)
VISUALIZERS = Registry('visualizer', parent=MMENGINE_VISUALIZERS, scope=SCOPE,
                       locations=['toolkit.visualization'])
VISBACKENDS = Registry('vis_backend', parent=MMENGINE_VISBACKENDS, scope=SCOPE)
LOG_PROCESSORS = Registry('log_processor', parent=MMENGINE_LOG_PROCESSORS, scope=SCOPE)
INFERENCERS = Registry('inferencer', parent=MMENGINE_INFERENCERS, scope=SCOPE)
FUNCTIONS = Registry('function', parent=MMENGINE_FUNCTIONS, scope=SCOPE)

__all__ = [
    'SCOPE', 'MODELS', 'BACKBONES', 'FUSIONS', 'LOSSES', 'RETRIEVERS', 'METRICS', 'DATASETS', 'TRANSFORMS',
    'RUNNERS', 'RUNNER_CONSTRUCTORS', 'LOOPS', 'HOOKS', 'STRATEGIES', 'DATA_SAMPLERS', 'MODEL_WRAPPERS',
    'WEIGHT_INITIALIZERS', 'OPTIMIZERS', 'OPTIM_WRAPPERS', 'OPTIM_WRAPPER_CONSTRUCTORS', 'PARAM_SCHEDULERS',
    'EVALUATOR', 'TASK_UTILS', 'VISUALIZERS', 'VISBACKENDS', 'LOG_PROCESSORS', 'INFERENCERS', 'FUNCTIONS',
]


# --- plugins -----------------------------------------------------------------
# Discovery of plugins through the ``harmonyzoo.plugins`` entry-point group. A pip-installed package declares,
# in its own ``setup.cfg``::
#
#     [options.entry_points]
#     harmonyzoo.plugins =
#         my_method = my_package.harmonyzoo_plugin
#
# Importing that module registers its backbones, fusions, losses, ... in the registries above; the first-party
# plugins under ``plugins/`` are declared the same way (a config may also name them in ``custom_imports``). The
# core never imports a plugin by name. This sits beside the registries so that anything that builds from them
# (the model builder, the runner) can load plugins without importing a higher room.
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
