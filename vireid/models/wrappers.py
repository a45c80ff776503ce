"""DDP wrappers under which the training passes can still be replayed as CUDA graphs.

DDP keeps every parameter's gradient accumulator (the autograd node that
adds into ``.grad``), and an accumulator belongs to the CUDA stream that
was current when it was made. Made on the default stream, it makes the
backward capture of ``torch.cuda.make_graphed_callables`` fail ("operation
would make the legacy stream depend on a capturing blocking stream"), so
:class:`~vireid.models.cuda_graphs.GraphCache` runs eagerly under MMEngine's
wrappers. These build the same wrappers on a side stream, and mark the
modules they wrap as safe to capture. The gradients then come out of the
graphed backward pass at once, and DDP all-reduces them as usual.

They are registered in MMEngine's root registry: ``Runner.wrap_model``
looks ``model_wrapper_cfg.type`` up there, outside the default scope.
"""
import contextlib

import torch
from mmengine.model import MMDistributedDataParallel, MMSeparateDistributedDataParallel
from mmengine.registry import MODEL_WRAPPERS
from .cuda_graphs import mark_capture_safe


@contextlib.contextmanager
def _side_stream():
    if not torch.cuda.is_available():
        yield
        return
    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        yield
    torch.cuda.current_stream().wait_stream(stream)


class _BuiltOnSideStream:
    """Mixin: build the DDP wrapper on a side stream, then mark what it wraps capture-safe."""

    def __init__(self, module, **kwargs):
        with _side_stream():
            super().__init__(module=module, **kwargs)
        mark_capture_safe(self.module)


@MODEL_WRAPPERS.register_module()
class CaptureSafeDistributedDataParallel(_BuiltOnSideStream, MMDistributedDataParallel):
    """``MMDistributedDataParallel`` (one DDP for the whole model), built for CUDA-graph capture."""


@MODEL_WRAPPERS.register_module()
class CaptureSafeSeparateDistributedDataParallel(_BuiltOnSideStream,
                                                 MMSeparateDistributedDataParallel):
    """``MMSeparateDistributedDataParallel`` (one DDP per child), built for CUDA-graph capture."""

__all__ = ['CaptureSafeDistributedDataParallel', 'CaptureSafeSeparateDistributedDataParallel']
