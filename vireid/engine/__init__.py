from .checkpoint import safe_load, set_trust_checkpoints, trust_checkpoints
from .optimizers import MultiOptimWrapperConstructor

__all__ = ['MultiOptimWrapperConstructor', 'safe_load', 'trust_checkpoints',
           'set_trust_checkpoints']
