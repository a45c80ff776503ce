from .autocast_optim_wrapper import AutocastOptimWrapper
from .grouped_optim_wrapper_constructor import (GroupedOptimWrapperConstructor,
                                                merge_param_groups)
from .multi_optim_wrapper_constructor import MultiOptimWrapperConstructor
from .scaled_autocast_optim_wrapper import ScaledAutocastOptimWrapper

__all__ = [
    'AutocastOptimWrapper', 'GroupedOptimWrapperConstructor', 'MultiOptimWrapperConstructor',
    'ScaledAutocastOptimWrapper', 'merge_param_groups'
]
