"""Models of vireid. Importing this package registers them in ``vireid.registry.MODELS``.

``mmpretrain.models`` is imported first so that its modules (ResNet,
GeneralizedMeanPooling, GlobalAveragePooling, CrossEntropyLoss,
LabelSmoothLoss, ...) are found through the vireid registry's parent.
"""
import mmpretrain.models  # noqa: F401

from .backbones import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .necks import *  # noqa: F401,F403
from .reid import *  # noqa: F401,F403
from .wrappers import *  # noqa: F401,F403
