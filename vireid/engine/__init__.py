from . import atomic_local_backend  # noqa: F401  (makes local writes atomic)
from .checkpoint import (describe_mismatch, find_resumable_checkpoint, safe_load,
                         set_trust_checkpoints, trust_checkpoints)
from .hooks import CollapseWatchHook, DeferredRuntimeInfoHook, EpochSeedHook, NonFiniteLossHook
from .optimizers import (AutocastOptimWrapper, MultiOptimWrapperConstructor,
                         ScaledAutocastOptimWrapper)
from .runner import IterBasedTrainLoop

__all__ = [
    'AutocastOptimWrapper', 'MultiOptimWrapperConstructor', 'ScaledAutocastOptimWrapper',
    'describe_mismatch', 'safe_load',
    'trust_checkpoints', 'set_trust_checkpoints', 'find_resumable_checkpoint', 'CollapseWatchHook',
    'DeferredRuntimeInfoHook', 'EpochSeedHook', 'NonFiniteLossHook', 'IterBasedTrainLoop'
]
