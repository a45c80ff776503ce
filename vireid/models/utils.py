"""Small helpers shared by the models."""
import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (MMSeparateDistributedDataParallel wraps each child).

    Use it to reach a child's own methods and attributes (``head.predict``,
    ``head.bn``); keep calling the child itself through ``__call__`` when its
    gradients must be synchronised.
    """
    return module.module if is_model_wrapper(module) else module
