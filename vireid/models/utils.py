"""Small helpers shared by the models."""
import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper


def unwrap(module: nn.Module) -> nn.Module:
    """The module inside a DDP wrapper (MMSeparateDistributedDataParallel wraps each child).

    Use it to reach a child's own methods and attributes (``head.predict``,
    ``head.bn``); keep calling the child itself through ``__call__`` when its
    gradients must be synchronised.
    """
    return module.module if is_model_wrapper(module) else module


def follow_preprocessor_memory_format(model: nn.Module) -> None:
    """Put the convolution weights in channels-last layout when the inputs will be.

    Done when the model is built, before any DDP wrapper records parameter
    layouts; later weight loading copies into these tensors and keeps it.
    """
    if getattr(model.data_preprocessor, 'channels_last', False):
        model.to(memory_format=torch.channels_last)
