# mmpretrain's transforms (RandomCrop with padding, RandomErasing, and its
# registration of mmcv's Resize / RandomFlip) must be imported for a
# lookup from vireid's registry to fall through to them.
import mmpretrain.datasets.transforms  # noqa: F401

from .formatting import PackReIDInputs
from .loading import LoadReIDImageFromFile
from .packed_loading import LoadReIDImageFromPack

__all__ = ['LoadReIDImageFromFile', 'LoadReIDImageFromPack', 'PackReIDInputs']
