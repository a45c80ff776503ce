"""One optimizer wrapper per group of sub-modules, for alternating (adversarial) training."""
import copy
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict

from vireid.registry import OPTIM_WRAPPER_CONSTRUCTORS
from .grouped_optim_wrapper_constructor import merge_param_groups


def _owner(name: str, prefixes: Dict[str, Sequence[str]]) -> Optional[str]:
    for key, module_names in prefixes.items():
        if any(name == p or name.startswith(p + '.') for p in module_names):
            return key
    return None


class _SubsetConstructor(DefaultOptimWrapperConstructor):
    """The default constructor (paramwise options included), restricted to some
    parameters, with parameter groups merged by option."""

    def __init__(self, optim_wrapper_cfg, paramwise_cfg, keep_ids):
        super().__init__(optim_wrapper_cfg, paramwise_cfg or {})
        self.keep_ids = keep_ids

    def __call__(self, model: nn.Module):
        groups: List[dict] = []
        # add_params walks the whole model so that custom_keys match full names
        self.add_params(groups, model)
        groups = merge_param_groups(
            [g for g in groups if id(g['params'][0]) in self.keep_ids])
        optimizer_cfg = self.optimizer_cfg.copy()
        optimizer_cfg['params'] = groups
        from mmengine.registry import OPTIM_WRAPPERS, OPTIMIZERS
        optimizer = OPTIMIZERS.build(optimizer_cfg)
        wrapper_cfg = self.optim_wrapper_cfg.copy()
        wrapper_cfg.setdefault('type', 'OptimWrapper')
        return OPTIM_WRAPPERS.build(wrapper_cfg, default_args=dict(optimizer=optimizer))


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Build an :class:`OptimWrapperDict` from a dict of optim-wrapper configs.

    Each key's config is an ordinary optim wrapper config plus an optional
    ``modules`` list of sub-module names (attribute paths of the model). The
    one key without ``modules`` takes every parameter the others do not, so
    no trainable parameter is ever left out of all optimizers::

        optim_wrapper = dict(
            constructor='MultiOptimWrapperConstructor',
            main=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9),
                      paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)})),
            adversary=dict(optimizer=dict(type='Adam', lr=1e-4),
                           modules=['discriminator_v2i', 'discriminator_i2v']))
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg is not None:
            raise ValueError('MultiOptimWrapperConstructor takes paramwise_cfg inside '
                             'each optimizer key, not at the top level')
        if not optim_wrapper_cfg:
            raise ValueError('optim_wrapper needs at least one optimizer key')
        self.cfgs = copy.deepcopy(dict(optim_wrapper_cfg))
        rest = [k for k, c in self.cfgs.items() if 'modules' not in c]
        if len(rest) > 1:
            raise ValueError(f'only one optimizer key may omit `modules` (it takes the '
                             f'remaining parameters); these do: {rest}')

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        prefixes = {k: list(c['modules']) for k, c in self.cfgs.items() if 'modules' in c}
        named = dict(model.named_parameters())
        for key, names in prefixes.items():
            for name in names:
                if not any(n == name or n.startswith(name + '.') for n in named):
                    raise KeyError(f'optimizer key {key!r}: the model has no parameters '
                                   f'under module {name!r}')
        rest_key = next((k for k in self.cfgs if k not in prefixes), None)
        members: Dict[str, set] = {k: set() for k in self.cfgs}
        for name, param in named.items():
            key = _owner(name, prefixes) or rest_key
            if key is None:
                if param.requires_grad:
                    raise ValueError(f'parameter {name!r} belongs to no optimizer key')
                continue
            members[key].add(id(param))
        wrappers = {}
        for key, cfg in self.cfgs.items():
            cfg = dict(cfg)
            cfg.pop('modules', None)
            # a key copied from a single-optimizer base may name its own
            # constructor: grouping by option is built in here
            cfg.pop('constructor', None)
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            wrappers[key] = _SubsetConstructor(cfg, paramwise_cfg, members[key])(model)
        return OptimWrapperDict(**wrappers)
