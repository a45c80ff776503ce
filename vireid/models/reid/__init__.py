from .agw import AGW
from .alternating import AlternatingReIDModel, frozen_call
from .fmcnet import FMCNet
from .mclnet import MCLNet

__all__ = [
    'AGW', 'AlternatingReIDModel', 'frozen_call', 'FMCNet', 'MCLNet'
]
