from .agw import AGW

__all__ = ['AGW']
