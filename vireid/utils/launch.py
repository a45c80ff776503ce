"""What tools/train.py and tools/test.py do alike to a config before building the Runner."""
import copy
import difflib
import inspect
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.runner import Runner

from vireid.utils.config_keys import check_config_keys, config_nodes
from vireid.utils.fast_path import use_fast_path

# top-level keys MMEngine's Runner reads from a config besides its arguments
RUNNER_CONFIG_KEYS = ('model_wrapper_cfg', 'compile', 'activation_checkpointing',
                      'efficient_conv_bn_eval', 'sync_bn', 'find_unused_parameters')
# top-level keys vireid reads after loading: the inference API's test pipeline (for a config
# whose test loader has none)
VIREID_CONFIG_KEYS = ('test_pipeline', )


def apply_common_args(cfg: Config, args) -> None:
    """``--fast``, ``--cfg-options``, ``--launcher`` and ``--amp`` (when the tool has them).

    ``--fast`` applies first, so that an option can turn one of its parts off
    (``model.graph_losses=False``).
    """
    if getattr(args, 'fast', False):
        use_fast_path(cfg)
    merge_options(cfg, args.cfg_options,
                  amp_dtype=args.amp_dtype if getattr(args, 'amp', False) else None)
    prepare_launcher(cfg, args.launcher)


def merge_options(cfg: Config, options: Optional[dict],
                  amp_dtype: Optional[str] = None) -> None:
    """Merge ``--cfg-options`` into ``cfg``, apply ``--amp`` (``amp_dtype``),
    then check every component's keys.

    Refuses a top-level key nothing reads and a key a component does not take
    (:func:`~vireid.utils.config_keys.check_config_keys`), whether it came
    from an option or from the config file; ``cfg`` is unchanged on error.
    The check follows ``--amp``, whose wrappers take keys a plain
    ``OptimWrapper`` does not (``optim_wrapper.growth_interval`` in float16).
    """
    options = options or {}
    check_top_level_keys(cfg, options)
    merged = copy.deepcopy(cfg)
    merged.merge_from_dict(options)
    retyped = use_amp(merged, amp_dtype) if amp_dtype else []
    check_config_keys(merged, options, typed_by={path: '--amp' for path in retyped})
    cfg.merge_from_dict(options)
    if amp_dtype:
        use_amp(cfg, amp_dtype)


def check_top_level_keys(cfg: Config, options: dict) -> None:
    """Raise if an option's first key is neither in ``cfg`` nor one the Runner reads.

    A misspelt top-level key (``train_cfgg.max_epochs=1``) would be merged
    and ignored; nested keys by :func:`check_config_keys`.
    """
    read = set(RUNNER_CONFIG_KEYS) | set(VIREID_CONFIG_KEYS)
    read |= set(inspect.signature(Runner.__init__).parameters) - {'self', 'cfg'}
    known = set(cfg.keys()) | read
    for option in options:
        top = option.split('.')[0]
        if top not in known:
            close = difflib.get_close_matches(top, sorted(known), n=1)
            hint = f"; did you mean '{close[0]}'?" if close else ''
            raise ValueError(f"--cfg-options {option}: the config has no key '{top}' "
                             f'and the Runner reads none of that name{hint}')
        if top not in read:
            # a variable of the file (max_epochs = 80) was read where the file used it,
            # when it was loaded: setting it now changes nothing
            raise ValueError(f"--cfg-options {option}: '{top}' is a variable of the config file, "
                             'already used where the file wrote it; nothing reads it after '
                             f'loading, so the option would change nothing'
                             f'{_variable_hint(cfg, top, read)}')


def _variable_hint(cfg: Config, variable: str, read: set) -> str:
    """Where the file's ``variable`` went: keys of its name, else lists holding its value."""
    users = _paths_ending_in(cfg, variable)
    if users:
        return (f'; set {" / ".join(users[:3])} instead (keys the file computed from it, '
                'such as a schedule\'s end, keep their values)')
    holders = _paths_holding(cfg, cfg[variable], read)
    if holders:
        more = ' and more' if len(holders) > 4 else ''
        return (f'; its value {cfg[variable]!r} is in {" / ".join(holders[:4])}{more}: '
                'set those instead')
    return ''


def _paths_ending_in(cfg: Config, key: str) -> list:
    """Config paths below the top level whose last key is ``key`` (where a variable went)."""
    return [path for top, value in cfg.items() for path, _ in config_nodes(top, value)
            if '.' in path and path.rsplit('.', 1)[1] == key]


def _paths_holding(cfg: Config, value, read: set) -> list:
    """Paths under the ``read`` top-level keys of the flat lists / tuples that hold ``value``.

    Where a variable went under other names (``img_h`` into a ``Resize``'s
    ``scale``, a crop's size). Only lists: a scalar of the same value (a
    batch size of 64 against ``img_w = 64``) is as often a coincidence; and
    only numbers other than 0 and 1 and longer strings, whose matches mean
    something.
    """
    meaningful = (isinstance(value, (int, float)) and not isinstance(value, bool)
                  and value not in (0, 1)) or (isinstance(value, str) and len(value) > 2)
    if not meaningful:
        return []
    return [path for top in cfg.keys() if top in read
            for path, node in config_nodes(top, cfg[top])
            if isinstance(node, (list, tuple)) and '.' in path
            and not any(isinstance(item, (dict, list, tuple)) for item in node)
            and any(type(item) is type(value) and item == value for item in node)]


def _optim_wrapper_cfgs(optim_wrapper: dict) -> list:
    """``(config path, dict)`` of each optimizer wrapper."""
    if 'constructor' in optim_wrapper and 'optimizer' not in optim_wrapper:
        # one optim wrapper per key (MultiOptimWrapperConstructor)
        return [(f'optim_wrapper.{k}', v) for k, v in optim_wrapper.items()
                if isinstance(v, dict)]
    return [('optim_wrapper', optim_wrapper)]


def use_amp(cfg: Config, dtype: str = 'bfloat16') -> list:
    """Mixed precision for every optimizer key; returns the config paths of the wrappers changed.

    bfloat16: ``AutocastOptimWrapper`` (no loss scaler); float16:
    ``ScaledAutocastOptimWrapper`` (a dynamic loss scale kept on the device).
    A wrapper of another type than ``OptimWrapper`` is left as it is.
    """
    changed = []
    for path, wrapper in _optim_wrapper_cfgs(cfg.optim_wrapper):
        if wrapper.get('type', 'OptimWrapper') != 'OptimWrapper':
            continue
        wrapper.update(type='AutocastOptimWrapper' if dtype == 'bfloat16'
                       else 'ScaledAutocastOptimWrapper', dtype=dtype)
        changed.append(path)
    return changed


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
