"""CUDA-graph replay of a two-stream backbone's training forward and backward passes.

A ResNet-50 training step launches some 1,500 kernels; at 64 images of
288x144 the host takes longer to launch them one by one than the GPU takes
to run them. A CUDA graph launches the recorded sequence at once. The
graphs run the same kernels on the same weights (updated in place by the
optimizer), so training is unchanged; what is fixed per graph is the batch
layout: which samples are visible and which infrared, the input shape and
memory layout, and the autocast dtype. The cross-modality sampler gives
every batch the same layout, so a run captures one graph (and one more for
a shorter last batch, if the loader keeps one).
"""
import inspect
import warnings
from typing import Callable, Dict, Optional

import torch
import torch.nn as nn

from .routing import plan_to


class PlannedForward(nn.Module):
    """``backbone.forward_planned(x, plan)`` with one plan (device index tensors) fixed."""

    def __init__(self, backbone: nn.Module, plan):
        super().__init__()
        self.backbone = backbone
        self.plan = plan

    def forward(self, x: torch.Tensor):
        return self.backbone.forward_planned(x, self.plan)


def autocast_dtype() -> Optional[torch.dtype]:
    """The CUDA autocast dtype in effect, or ``None`` outside autocast."""
    if not torch.is_autocast_enabled('cuda'):
        return None
    return torch.get_autocast_dtype('cuda')


class _ThreadLocalGraph(torch.cuda.graph):
    """``torch.cuda.graph`` capturing in 'thread_local' error mode."""

    def __init__(self, cuda_graph, pool=None, stream=None, **kwargs):
        kwargs['capture_error_mode'] = 'thread_local'
        super().__init__(cuda_graph, pool=pool, stream=stream, **kwargs)


def make_graphed_thread_local(module: nn.Module, sample_args: tuple) -> Callable:
    """``torch.cuda.make_graphed_callables`` capturing in 'thread_local' error mode.

    The dataloader's pin-memory thread (and NCCL's watchdog) keep making
    CUDA calls while this thread captures; in the default 'global' mode any
    of them invalidates the capture. Before torch 2.12 the function has no
    ``capture_error_mode`` argument: its ``torch.cuda.graph`` is swapped for
    the duration of the call.
    """
    make = torch.cuda.make_graphed_callables
    if 'capture_error_mode' in inspect.signature(make).parameters:
        return make(module, sample_args, allow_unused_input=True,
                    capture_error_mode='thread_local')
    original, torch.cuda.graph = torch.cuda.graph, _ThreadLocalGraph
    try:
        return make(module, sample_args, allow_unused_input=True)
    finally:
        torch.cuda.graph = original


class BackboneGraphs:
    """The graphed training passes of one backbone, one per batch layout.

    ``get(x, plan, backbone)`` returns a callable ``x -> backbone outputs``
    that replays captured graphs (its backward too), capturing them with
    ``torch.cuda.make_graphed_callables`` the first time a layout is seen.
    Capture runs three warm-up passes on the batch at hand; the backbone's
    buffers (BN running statistics) are put back afterwards, so capturing
    leaves the model exactly as it was. Each layout holds its own
    activation memory: beyond ``max_graphs`` layouts the backbone runs
    eagerly, with one warning.

    The outputs of a replay live in the graph's memory and are overwritten
    by the next replay: use them within the training step that made them.
    """

    def __init__(self, max_graphs: int = 4):
        self.max_graphs = max_graphs
        self._graphs: Dict[tuple, Callable] = {}
        self._warned = False

    def __len__(self) -> int:
        return len(self._graphs)

    def __deepcopy__(self, memo):
        # graphs belong to the module they captured: a copy (an EMA model,
        # say) captures its own
        return BackboneGraphs(self.max_graphs)

    def __getstate__(self):
        return dict(max_graphs=self.max_graphs, _graphs={}, _warned=False)

    @staticmethod
    def key(x: torch.Tensor, plan) -> tuple:
        groups, _ = plan
        layout = tuple((value, tuple(index.tolist())) for value, index in groups)
        return layout, tuple(x.shape), x.stride(), x.dtype, x.device, autocast_dtype()

    def get(self, x: torch.Tensor, plan, backbone: nn.Module) -> Optional[Callable]:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            # DDP's gradient hooks launch all-reduces on another stream, which a
            # capture cannot take in
            self._warn(f'{type(backbone).__name__}: cuda_graph=True is ignored in a '
                       'distributed run; the backbone runs eagerly')
            return None
        key = self.key(x, plan)
        graphed = self._graphs.get(key)
        if graphed is not None:
            return graphed
        if len(self._graphs) >= self.max_graphs:
            self._warn(f'{type(backbone).__name__}: more than {self.max_graphs} batch layouts '
                       '(modality order, shape); new layouts run without CUDA graphs. A '
                       'sampler with a fixed layout per batch avoids this.')
            return None
        graphed = self._graphs[key] = self.capture(x, plan, backbone)
        return graphed

    def _warn(self, message: str) -> None:
        if not self._warned:
            warnings.warn(message)
            self._warned = True

    @staticmethod
    def capture(x: torch.Tensor, plan, backbone: nn.Module) -> Callable:
        if torch.is_autocast_enabled('cuda') and torch.is_autocast_cache_enabled():
            raise RuntimeError('cuda_graph=True needs autocast with cache_enabled=False '
                               '(AutocastOptimWrapper, what --amp uses, sets it)')
        saved = [buffer.detach().clone() for buffer in backbone.buffers()]
        module = PlannedForward(backbone, plan_to(plan, x.device))
        # a branch without samples in this layout gets no gradient
        graphed = make_graphed_thread_local(module, (x.detach().clone(), ))
        with torch.no_grad():
            for buffer, value in zip(backbone.buffers(), saved):
                buffer.copy_(value)
        return graphed
