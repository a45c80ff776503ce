"""Registries of ``vireid``: one child of every mmpretrain registry.

mmpretrain's registries are themselves children of MMEngine's roots, so a
config with ``default_scope='vireid'`` finds our components first, then
mmpretrain's (ResNet, GeM, RandomErasing, ...), then MMEngine's and mmcv's.
``locations`` lets a registry import the package that fills it on first use.
"""
from mmpretrain import registry as parent
from mmengine.registry import Registry

_LOCATIONS = {
    'RUNNERS': 'vireid.engine',
    'RUNNER_CONSTRUCTORS': 'vireid.engine',
    'LOOPS': 'vireid.engine',
    'HOOKS': 'vireid.engine',
    'LOG_PROCESSORS': 'vireid.engine',
    'OPTIMIZERS': 'vireid.engine',
    'OPTIM_WRAPPERS': 'vireid.engine',
    'OPTIM_WRAPPER_CONSTRUCTORS': 'vireid.engine',
    'PARAM_SCHEDULERS': 'vireid.engine',
    'DATASETS': 'vireid.datasets',
    'DATA_SAMPLERS': 'vireid.datasets',
    'TRANSFORMS': 'vireid.datasets',
    'MODELS': 'vireid.models',
    'MODEL_WRAPPERS': 'vireid.models',
    'WEIGHT_INITIALIZERS': 'vireid.models',
    'BATCH_AUGMENTS': 'vireid.models',
    'TASK_UTILS': 'vireid.models',
    'METRICS': 'vireid.evaluation',
    'EVALUATORS': 'vireid.evaluation',
    'VISUALIZERS': 'vireid.visualization',
    'VISBACKENDS': 'vireid.visualization',
}


def _child(name: str) -> Registry:
    parent_registry = getattr(parent, name)
    return Registry(
        parent_registry.name,
        parent=parent_registry,
        scope='vireid',
        locations=[_LOCATIONS[name]])


RUNNERS = _child('RUNNERS')
RUNNER_CONSTRUCTORS = _child('RUNNER_CONSTRUCTORS')
LOOPS = _child('LOOPS')
HOOKS = _child('HOOKS')
LOG_PROCESSORS = _child('LOG_PROCESSORS')
OPTIMIZERS = _child('OPTIMIZERS')
OPTIM_WRAPPERS = _child('OPTIM_WRAPPERS')
OPTIM_WRAPPER_CONSTRUCTORS = _child('OPTIM_WRAPPER_CONSTRUCTORS')
PARAM_SCHEDULERS = _child('PARAM_SCHEDULERS')
DATASETS = _child('DATASETS')
DATA_SAMPLERS = _child('DATA_SAMPLERS')
TRANSFORMS = _child('TRANSFORMS')
MODELS = _child('MODELS')
MODEL_WRAPPERS = _child('MODEL_WRAPPERS')
WEIGHT_INITIALIZERS = _child('WEIGHT_INITIALIZERS')
BATCH_AUGMENTS = _child('BATCH_AUGMENTS')
TASK_UTILS = _child('TASK_UTILS')
METRICS = _child('METRICS')
EVALUATORS = _child('EVALUATORS')
VISUALIZERS = _child('VISUALIZERS')
VISBACKENDS = _child('VISBACKENDS')
