"""Paramwise options with as few optimizer parameter groups as they need."""
from typing import List

import torch.nn as nn
from mmengine.optim import DefaultOptimWrapperConstructor

from vireid.registry import OPTIM_WRAPPER_CONSTRUCTORS


def merge_param_groups(groups: List[dict]) -> List[dict]:
    """Join parameter groups whose options (lr, weight_decay, ...) are equal.

    MMEngine's paramwise handling gives every parameter its own group; the
    optimizer then launches its foreach kernels once per parameter, which on
    a GPU costs more host time than the whole ResNet forward. Order is kept:
    groups appear in the order of their first parameter.
    """
    merged = {}
    for group in groups:
        options = tuple(sorted((k, v) for k, v in group.items() if k != 'params'))
        merged.setdefault(options, dict(group, params=[]))['params'].extend(group['params'])
    return list(merged.values())


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class GroupedOptimWrapperConstructor(DefaultOptimWrapperConstructor):
    """``DefaultOptimWrapperConstructor`` whose parameter groups are merged by option."""

    def add_params(self, params: List[dict], module: nn.Module, prefix: str = '',
                   is_dcn_module=None) -> None:
        super().add_params(params, module, prefix, is_dcn_module)
        if not prefix:  # the outermost call, after the recursion over children
            params[:] = merge_param_groups(params)
