from .optimizers import MultiOptimWrapperConstructor

__all__ = ['MultiOptimWrapperConstructor']
