"""What tools/train.py and tools/test.py do alike to a config before building the Runner."""
import difflib
import inspect
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.registry import Registry
from mmengine.runner import EpochBasedTrainLoop, IterBasedTrainLoop, Runner, TestLoop, ValLoop

import vireid.registry
from vireid.utils.fast_path import use_fast_path

# top-level keys MMEngine's Runner reads from a config besides its arguments
RUNNER_CONFIG_KEYS = ('model_wrapper_cfg', 'compile', 'activation_checkpointing',
                      'efficient_conv_bn_eval', 'sync_bn', 'find_unused_parameters')
# keys of a component's dict that its builder reads, not the component's class
BUILDER_KEYS = ('type', '_scope_', 'constructor', 'paramwise_cfg', 'by_epoch')


def apply_common_args(cfg: Config, args) -> None:
    """``--fast``, ``--cfg-options``, ``--launcher`` and ``--amp`` (when the tool has them).

    ``--fast`` applies first, so that an option can turn one of its parts off
    (``model.graph_losses=False``).
    """
    if getattr(args, 'fast', False):
        use_fast_path(cfg)
    merge_options(cfg, args.cfg_options)
    if getattr(args, 'amp', False):
        use_amp(cfg, args.amp_dtype)
    prepare_launcher(cfg, args.launcher)


def merge_options(cfg: Config, options: Optional[dict]) -> None:
    """Merge ``--cfg-options`` into ``cfg``, refusing top-level keys nothing reads."""
    if options:
        check_top_level_keys(cfg, options)
        check_component_keys(cfg, options)
        cfg.merge_from_dict(options)


def check_top_level_keys(cfg: Config, options: dict) -> None:
    """Raise if an option's first key is neither in ``cfg`` nor one the Runner reads.

    A misspelt top-level key (``train_cfgg.max_epochs=1``) would be merged
    and ignored; nested keys are checked by :func:`check_component_keys`.
    """
    known = set(cfg.keys()) | set(RUNNER_CONFIG_KEYS)
    known |= set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    for option in options:
        top = option.split('.')[0]
        if top not in known:
            close = difflib.get_close_matches(top, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ''
            raise ValueError(f"--cfg-options {option}: the config has no key '{top}' "
                             f'and the Runner reads none of that name{hint}')


def check_component_keys(cfg: Config, options: dict) -> None:
    """Raise if an option adds a key to a component's dict that the component does not take.

    ``model.head.dropuot=0.5`` would otherwise fail only when the Runner
    builds the head, after the work directory is made, with an error that
    names the class but not the option. Components whose class takes
    ``**kwargs`` (or that no registry knows) are not checked.
    """
    for option in options:
        parts, node = option.split('.'), cfg
        for depth, key in enumerate(parts):
            if not isinstance(node, (Config, dict)):
                break
            if key not in node:
                path = '.'.join(parts[:depth])
                # the type the options give the component, else the config's
                component_type = options.get(f'{path}.type', node.get('type'))
                if component_type is None:
                    component_type = _implied_loop(path, node, options)
                taken = _arguments_taken(component_type)
                if taken is not None and key not in taken:
                    close = difflib.get_close_matches(key, sorted(taken), n=1)
                    hint = f"; did you mean '{close[0]}'?" if close else ''
                    raise ValueError(
                        f"--cfg-options {option}: {path} is a {_type_name(component_type)}, "
                        f"which takes no argument '{key}'{hint}")
                break
            node = node[key]


def _implied_loop(path: str, node: dict, options: dict):
    """The loop class the Runner builds for a ``train_cfg`` / ``val_cfg`` / ``test_cfg`` without a type."""
    if path == 'train_cfg':
        by_epoch = options.get('train_cfg.by_epoch', node.get('by_epoch', True))
        return EpochBasedTrainLoop if by_epoch else IterBasedTrainLoop
    return dict(val_cfg=ValLoop, test_cfg=TestLoop).get(path)


def _type_name(component_type) -> str:
    return getattr(component_type, '__name__', str(component_type))


def _arguments_taken(component_type) -> Optional[set]:
    """The argument names of the class(es) a ``type`` names; ``None`` where any takes ``**kwargs``."""
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
        try:
            parameters = inspect.signature(cls).parameters.values()
        except (TypeError, ValueError):  # a builtin without a signature
            return None
        if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters):
            return None
        taken |= {p.name for p in parameters}
    return taken


def _optim_wrapper_cfgs(optim_wrapper: dict) -> list:
    if 'constructor' in optim_wrapper and 'optimizer' not in optim_wrapper:
        # one optim wrapper per key (MultiOptimWrapperConstructor)
        return [v for k, v in optim_wrapper.items() if isinstance(v, dict)]
    return [optim_wrapper]


def use_amp(cfg: Config, dtype: str = 'bfloat16') -> None:
    """Mixed precision for every optimizer key.

    bfloat16: ``AutocastOptimWrapper`` (no loss scaler); float16:
    ``ScaledAutocastOptimWrapper`` (a dynamic loss scale kept on the device).
    """
    for wrapper in _optim_wrapper_cfgs(cfg.optim_wrapper):
        if wrapper.get('type', 'OptimWrapper') != 'OptimWrapper':
            continue
        wrapper.update(type='AutocastOptimWrapper' if dtype == 'bfloat16'
                       else 'ScaledAutocastOptimWrapper', dtype=dtype)


def prepare_launcher(cfg: Config, launcher: str) -> None:
    cfg.launcher = launcher
    if launcher == 'none' or torch.cuda.is_available():
        return
    # MMEngine's launcher always calls torch.cuda.set_device: on a CPU-only
    # machine start the gloo group ourselves and keep DDP off device ids
    if not dist.is_initialized():
        dist.init_process_group('gloo')
    wrapper = cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel')
    wrapper['device_ids'] = None
    cfg.model_wrapper_cfg = wrapper
    cfg.env_cfg.setdefault('dist_cfg', {})['backend'] = 'gloo'
