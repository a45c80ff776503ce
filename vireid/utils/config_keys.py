"""Refuse a key of a config's component that the component does not take, before anything is built.

A misspelt key (``model.head.dropuot``, ``train_dataloader.dataset.splitt``)
would otherwise fail only when the Runner builds that part, after the work
directory is made and maybe after a model has been built, with an error that
names a base class but neither the config path nor the file.
"""
import difflib
import inspect
from typing import Iterator, Optional, Tuple

from mmengine.registry import Registry
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, LogProcessor, TestLoop, ValLoop
from torch.utils.data import DataLoader

import vireid.registry

# keys of a component's dict that its builder reads, not the component's class
# (``modules``: vireid's MultiOptimWrapperConstructor, per optimizer key)
BUILDER_KEYS = frozenset({'type', '_scope_', 'constructor', 'paramwise_cfg', 'modules',
                          'convert_to_iter_based'})
# what the Runner builds for a top-level dict without a type, and the keys it pops first
DATALOADER_BUILDER_KEYS = frozenset({'num_batch_per_epoch', 'disable_subprocess_warning'})
UNTYPED_TOP_LEVEL = dict(val_cfg=ValLoop, test_cfg=TestLoop, log_processor=LogProcessor,
                         train_dataloader=DataLoader, val_dataloader=DataLoader,
                         test_dataloader=DataLoader)


def check_config_keys(cfg, options: Optional[dict] = None) -> None:
    """Raise ``ValueError`` naming the first key a component of ``cfg`` does not take.

    Components are the dicts with a ``type`` (looked up in vireid's registries
    and their parents) and the top-level dicts the Runner builds without one
    (the loops, the dataloaders, ``log_processor``). A class that takes
    ``**kwargs`` is followed up its vireid bases, which pass them on; where
    they go to a class outside vireid nothing is checked. ``options`` (the
    ``--cfg-options`` merged into ``cfg``) names the option at fault.
    """
    options = options or {}
    faults = []
    for path, node, component, extra in _components(cfg):
        taken = _arguments_taken(component)
        if taken is not None:
            faults += [(path, key, component, taken | extra) for key in node
                       if key not in taken | extra]
    if faults:
        # a key an option set is the likelier mistake than one the config always had
        faults.sort(key=lambda fault: not _setters(options, f'{fault[0]}.{fault[1]}'))
        raise ValueError(_message(cfg, options, *faults[0]))


def _components(cfg) -> Iterator[Tuple[str, dict, object, frozenset]]:
    """(path, dict, type, builder keys) of every component in ``cfg``, outermost first."""
    for key, value in cfg.items():
        if isinstance(value, dict) and 'type' not in value:
            implied = _implied_type(key, value)
            if implied is not None:
                yield key, value, implied, (frozenset({'by_epoch'}) if key == 'train_cfg' else
                                            DATALOADER_BUILDER_KEYS if implied is DataLoader else
                                            frozenset())
        yield from _typed(key, value)


def _typed(path: str, value) -> Iterator[Tuple[str, dict, object, frozenset]]:
    if isinstance(value, dict):
        if isinstance(value.get('type'), str) or callable(value.get('type')):
            yield path, value, value['type'], frozenset()
        children = value.items()
    elif isinstance(value, (list, tuple)):
        children = enumerate(value)
    else:
        return
    for key, child in children:
        yield from _typed(f'{path}.{key}', child)


def _implied_type(key: str, node: dict):
    if key == 'train_cfg':
        return EpochBasedTrainLoop if node.get('by_epoch', True) else IterBasedTrainLoop
    return UNTYPED_TOP_LEVEL.get(key)


def _message(cfg, options: dict, path: str, key: str, component, taken: set) -> str:
    full = f'{path}.{key}'
    close = difflib.get_close_matches(key, sorted(taken), n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ''
    what = f'{path} is a {_type_name(component)}'
    setters = _setters(options, full)
    if setters:
        where = f'--cfg-options {setters[0]}: ' + ('' if setters[0] == full else f'{full}: ')
    else:
        where = f'{full} (in {getattr(cfg, "filename", None) or "the config"}): '
        if f'{path}.type' in options:
            what += f' (by --cfg-options {path}.type)'
    return f"{where}{what}, which takes no argument '{key}'{hint}"


def _setters(options: dict, full: str) -> list:
    """The options that set the key ``full`` or a dict holding it."""
    return [o for o in options if full == o or full.startswith(o + '.')]


def _type_name(component_type) -> str:
    return getattr(component_type, '__name__', str(component_type))


def _arguments_taken(component_type) -> Optional[set]:
    """Argument names of the class(es) a ``type`` names plus the builder's keys; ``None`` if unknown."""
    if isinstance(component_type, str):
        registries = [r for r in vars(vireid.registry).values() if isinstance(r, Registry)]
        classes = [r.get(component_type) for r in registries]
    else:
        classes = [component_type]
    classes = [c for c in classes if callable(c)]
    if not classes:
        return None
    taken = set(BUILDER_KEYS)
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
    names = set()
    for klass in component.__mro__:
        if '__init__' not in vars(klass):
            continue
        signature = _signature(vars(klass)['__init__'])
        if signature is None:
            return None
        names |= signature[0]
        if not signature[1]:
            return names
        if not klass.__module__.startswith('vireid.'):
            return None  # only vireid's own classes are known to pass **kwargs to their base
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
