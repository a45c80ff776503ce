from .bnneck_head import BNNeckHead, bnneck_bn

__all__ = ['BNNeckHead', 'bnneck_bn']
