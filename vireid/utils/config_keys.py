"""Refuse a key of a config's component that the component does not take, before anything is built.

A misspelt key (``model.head.dropuot``, ``train_dataloader.dataset.splitt``)
would otherwise fail only when the Runner builds that part, after the work
directory is made and maybe after a model has been built, with an error that
names a base class but neither the config path nor the file.
"""
import difflib
import inspect
from typing import Dict, Iterator, Optional, Tuple

from mmengine.hooks import CheckpointHook, Hook
from mmengine.optim import BaseOptimWrapper
from mmengine.optim.scheduler.lr_scheduler import LRSchedulerMixin
from mmengine.optim.scheduler.momentum_scheduler import MomentumSchedulerMixin
from mmengine.optim.scheduler.param_scheduler import _ParamScheduler
from mmengine.registry import Registry
from mmengine.runner import (EpochBasedTrainLoop, IterBasedTrainLoop, LogProcessor, Runner,
                             TestLoop, ValLoop)
from mmengine.visualization.vis_backend import BaseVisBackend
from torch import nn
from torch.nn.modules.batchnorm import _NormBase
from torch.utils.data import DataLoader

import vireid.registry

# keys that the code building a component pops before the class sees the rest,
# by the kind of class it builds; accepted, and suggested, only there
BUILDER_KEYS_BY_BASE = (
    (Hook, {'priority'}),  # Runner.register_hook
    (BaseVisBackend, {'name'}),  # Visualizer.__init__
    (_ParamScheduler, {'convert_to_iter_based'}),  # build_scheduler_from_cfg
    (BaseOptimWrapper, {'constructor', 'paramwise_cfg'}),  # build_optim_wrapper
    # mmcv's build_norm_layer
    ((_NormBase, nn.GroupNorm, nn.LayerNorm), {'requires_grad'}),
)
# vireid's MultiOptimWrapperConstructor reads the modules of each key's wrapper
BUILDER_KEYS_BY_PATH = (('optim_wrapper.*', BaseOptimWrapper, {'modules'}), )
# mmengine's initialize pops an init_cfg's override (its initialisers other than
# PretrainedInit take **kwargs and are not checked), whose dicts name their module;
# build_norm_layer pops requires_grad from whatever a norm_cfg names
BUILDER_KEYS_BY_LAST_KEY = dict(init_cfg={'override'}, override={'name'},
                                norm_cfg={'requires_grad'})
# MMEngine's classes whose **kwargs go somewhere known: (a function, or None for the next
# class of the MRO; the arguments of it the class fills itself). Its LR and momentum
# schedulers (LinearLR = LRSchedulerMixin + LinearParamScheduler) hand them to the parameter
# scheduler they wrap; CheckpointHook to every Runner.save_checkpoint call (in this MMEngine
# it fills them all, so any other key fails at the first checkpoint, an epoch into training)
KWARGS_GO_TO = {
    LRSchedulerMixin: (None, {'param_name'}),
    MomentumSchedulerMixin: (None, {'param_name'}),
    CheckpointHook: (Runner.save_checkpoint, {
        'out_dir', 'filename', 'file_client_args', 'save_optimizer', 'save_param_scheduler',
        'meta', 'by_epoch', 'backend_args'}),
}


def runner_setup_env(cudnn_benchmark=False, mp_cfg=None, dist_cfg=None, resource_limit=4096):
    """The keys of ``env_cfg`` that MMEngine's ``Runner.setup_env`` reads (it ignores others)."""


runner_setup_env.__qualname__ = 'Runner.setup_env'
# what the Runner builds for a top-level dict without a type, and the keys it pops first
DATALOADER_BUILDER_KEYS = frozenset({'num_batch_per_epoch', 'disable_subprocess_warning'})
UNTYPED_TOP_LEVEL = dict(val_cfg=ValLoop, test_cfg=TestLoop, log_processor=LogProcessor,
                         train_dataloader=DataLoader, val_dataloader=DataLoader,
                         test_dataloader=DataLoader, randomness=Runner.set_randomness,
                         env_cfg=runner_setup_env)


def check_config_keys(cfg, options: Optional[dict] = None,
                      typed_by: Optional[Dict[str, str]] = None) -> None:
    """Raise ``ValueError`` naming the first key a component of ``cfg`` does not take.

    Components are the dicts with a ``type`` (looked up in vireid's registries
    and their parents) and the top-level dicts the Runner builds without one
    (the loops, the dataloaders, ``log_processor``). A class that takes
    ``**kwargs`` is followed up its vireid bases, which pass them on; where
    they go to a class outside vireid nothing is checked. ``options`` (the
    ``--cfg-options`` merged into ``cfg``) names the option at fault;
    ``typed_by`` maps a component's path to what set its type (``'--amp'``).
    """
    options = options or {}
    faults = []
    for path, node, component in _components(cfg):
        classes = _classes(component)
        taken = _arguments_taken(classes)
        if taken is None:
            continue
        popped = _builder_keys(path, classes, untyped='type' not in node)
        faults += [(path, key, component, taken, popped) for key in node
                   if key not in taken | popped]
    if faults:
        # a key an option set is the likelier mistake than one the config always had
        faults.sort(key=lambda fault: not _setters(options, f'{fault[0]}.{fault[1]}'))
        raise ValueError(_message(cfg, options, typed_by or {}, *faults[0]))


def _builder_keys(path: str, classes: list, untyped: bool) -> set:
    """Keys the builder of the component at ``path`` (of one of ``classes``) reads itself."""
    def built_as(base) -> bool:
        return any(inspect.isclass(cls) and issubclass(cls, base) for cls in classes)

    keys = {'type', '_scope_'}
    for base, popped in BUILDER_KEYS_BY_BASE:
        if built_as(base):
            keys |= popped
    parts = path.split('.')
    for pattern, base, popped in BUILDER_KEYS_BY_PATH:
        wanted = pattern.split('.')
        if len(wanted) == len(parts) and all(w in ('*', p) for w, p in zip(wanted, parts)) and (
                built_as(base)):
            keys |= popped
    keys |= BUILDER_KEYS_BY_LAST_KEY.get(parts[-1], set())
    if parts[-1].isdigit() and len(parts) > 1:  # an item of a list under that key
        keys |= BUILDER_KEYS_BY_LAST_KEY.get(parts[-2], set())
    if untyped and path == 'train_cfg':
        keys.add('by_epoch')  # the Runner reads it to pick the loop
    if untyped and UNTYPED_TOP_LEVEL.get(path) is DataLoader:
        keys |= DATALOADER_BUILDER_KEYS
    return keys


def _components(cfg) -> Iterator[Tuple[str, dict, object]]:
    """(path, dict, type) of every component in ``cfg``, outermost first."""
    for key, value in cfg.items():
        if isinstance(value, dict) and 'type' not in value:
            implied = _implied_type(key, value)
            if implied is not None:
                yield key, value, implied
        for path, node in config_nodes(key, value):
            if isinstance(node, dict) and (isinstance(node.get('type'), str)
                                           or callable(node.get('type'))):
                yield path, node, node['type']


def config_nodes(path: str, value) -> Iterator[Tuple[str, object]]:
    """``(path, value)`` of ``value`` and of everything in its dicts and lists, outermost first
    (list items are named by their index: ``train_dataloader.dataset.pipeline.2``)."""
    yield path, value
    children = (value.items() if isinstance(value, dict)
                else enumerate(value) if isinstance(value, (list, tuple)) else ())
    for key, child in children:
        yield from config_nodes(f'{path}.{key}', child)


def _implied_type(key: str, node: dict):
    if key == 'train_cfg':
        return EpochBasedTrainLoop if node.get('by_epoch', True) else IterBasedTrainLoop
    return UNTYPED_TOP_LEVEL.get(key)


def _message(cfg, options: dict, typed_by: dict, path: str, key: str, component,
             taken: set, popped: set) -> str:
    full = f'{path}.{key}'
    # the class's own arguments first: a builder's key is the likelier meaning only
    # when none of them is close
    close = (difflib.get_close_matches(key, sorted(taken), n=1)
             or difflib.get_close_matches(key, sorted(popped), n=1))
    hint = f"; did you mean '{close[0]}'?" if close else ''
    node = cfg[path.split('.')[0]]
    if path == 'train_cfg' and key == 'by_epoch' and 'type' in node:
        hint = ("; by_epoch picks the loop only in a train_cfg without a type: to train by "
                "steps, write train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', "
                "max_iters=...) in a config (docs/customize.md)")
    if path == 'train_cfg' and 'type' not in node:
        by_epoch = node.get('by_epoch', True)
        what = f'train_cfg (no type, by_epoch={by_epoch}) is MMEngine\'s {_type_name(component)}'
        chooser = 'train_cfg.by_epoch'
    elif '.' not in path and 'type' not in node and not inspect.isclass(component):
        what = f"{path} (no type) is read by MMEngine's {component.__qualname__}"
        chooser = None
    elif '.' not in path and 'type' not in node:
        what = f'{path} (no type) is {_a(_type_name(component))}'
        chooser = None
    else:
        what = f'{path} is {_a(_type_name(component))}'
        chooser = f'{path}.type'
    setters = _setters(options, full)
    if setters:
        where = f'--cfg-options {setters[0]}: ' + ('' if setters[0] == full else f'{full}: ')
    else:
        where = f'{full} (in {getattr(cfg, "filename", None) or "the config"}): '
    # --amp retypes after the options are merged: the type is its choice where it retyped
    if path in typed_by:
        what += f' (by {typed_by[path]})'
    elif chooser in options and chooser not in setters:
        what += f' (by --cfg-options {chooser})'
    return f"{where}{what}, which takes no argument '{key}'{hint}"


def _a(name: str) -> str:
    """``name`` with its article: 'an AGW', 'an SGD', 'a BNNeckHead', 'an EpochBasedTrainLoop'."""
    capitals = len(name) - len(name.lstrip('ABCDEFGHIJKLMNOPQRSTUVWXYZ'))
    # a short acronym is spelt out: the names of A, E, F, H, I, L, M, N, O, R, S, X begin with a
    # vowel (a longer run of capitals, SYSUMM01, is read as a word)
    vowel_sounds = 'AEFHILMNORSX' if 1 < capitals <= 5 or capitals == len(name) else 'AEIOU'
    return f"{'an' if name[:1] in vowel_sounds else 'a'} {name}"


def _setters(options: dict, full: str) -> list:
    """The options that set the key ``full`` or a dict holding it."""
    return [o for o in options if full == o or full.startswith(o + '.')]


def _type_name(component_type) -> str:
    return getattr(component_type, '__name__', str(component_type))


def _classes(component_type) -> list:
    """The classes (or functions) a ``type`` names, in vireid's registries and their parents."""
    if isinstance(component_type, str):
        registries = [r for r in vars(vireid.registry).values() if isinstance(r, Registry)]
        classes = [r.get(component_type) for r in registries]
    else:
        classes = [component_type]
    return [c for c in classes if callable(c)]


def _arguments_taken(classes: list) -> Optional[set]:
    """Argument names of the class(es) a ``type`` names (:func:`_classes`); ``None`` if unknown."""
    if not classes:
        return None
    taken = set()
    for cls in classes:
        names = _parameter_names(cls)
        if names is None:
            return None
        taken |= names
    return taken


def _parameter_names(component) -> Optional[set]:
    """Keyword names ``component`` takes; ``None`` where ``**kwargs`` go outside vireid."""
    if not inspect.isclass(component):
        signature = _signature(component)
        return None if signature is None or signature[1] else signature[0]
    names, filled = set(), set()
    for klass in component.__mro__:
        if klass is object:  # reached without **kwargs passed on to it: nothing more is taken
            return names - filled
        if '__init__' not in vars(klass):
            continue
        signature = _signature(vars(klass)['__init__'])
        if signature is None:
            return None
        names |= signature[0]
        if not signature[1]:
            return names - filled
        target, target_filled = KWARGS_GO_TO.get(klass, (None, set()))
        if target is not None:
            signature = _signature(target)
            if signature is None or signature[1]:
                return None
            return (names | signature[0] - target_filled) - filled
        filled |= target_filled
        if not (klass.__module__.startswith('vireid.') or klass in KWARGS_GO_TO):
            return None  # only these classes are known to pass **kwargs to their base
    return None


def _signature(function) -> Optional[Tuple[set, bool]]:
    """(keyword names, whether it takes ``**kwargs``); ``None`` for a builtin without a signature."""
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return None
    names = {p.name for p in parameters
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} - {'self'}
    return names, any(p.kind is p.VAR_KEYWORD for p in parameters)
