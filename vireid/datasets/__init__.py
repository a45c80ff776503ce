# The synthetic generator (vireid.datasets.synthetic) is deliberately not
# imported here, so that the loaders work whatever state it is in.
from .llcm import LLCMDataset
from .regdb import RegDBDataset
from .samplers import CrossModalityIdentitySampler
from .sysu_mm01 import SYSUMM01Dataset
from .transforms import LoadReIDImageFromFile, PackReIDInputs

__all__ = [
    'SYSUMM01Dataset', 'RegDBDataset', 'LLCMDataset',
    'CrossModalityIdentitySampler', 'LoadReIDImageFromFile', 'PackReIDInputs'
]
