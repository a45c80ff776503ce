"""CUDA-graph replay of training passes: what the backbone and the loss graphs share.

A training step of these models launches thousands of small kernels; at 64
images of 288x144 the host takes longer to launch them one by one than the
GPU takes to run them. A CUDA graph launches a recorded sequence at once,
forward and backward (``torch.cuda.make_graphed_callables``). The graphs
run the same kernels on the same weights (updated in place by the
optimizer), so training is unchanged; what is fixed per graph is the input
layout: shapes, memory layouts, dtypes, the autocast dtype, and for the
backbone which samples are visible and which infrared.
"""
import warnings
from contextlib import contextmanager
from typing import Callable, Dict, Hashable, Optional

import torch
import torch.nn as nn

# set by the capture-safe DDP wrappers (vireid.models.wrappers) on the modules they wrap
CAPTURE_SAFE_UNDER_DDP = '_capture_safe_under_ddp'
# what a capture returns for a computation that must run eagerly (GraphCache keeps it)
EAGER = 'eager'
# what autograd warns when a gradient accumulator was made on another stream
ACCUMULATOR_STREAM_WARNING = "The AccumulateGrad node's stream does not match"


def mark_capture_safe(module: nn.Module) -> None:
    """Let ``module`` and its submodules capture graphs in a distributed run."""
    for submodule in module.modules():
        setattr(submodule, CAPTURE_SAFE_UNDER_DDP, True)


def autocast_dtype() -> Optional[torch.dtype]:
    """The CUDA autocast dtype in effect, or ``None`` outside autocast."""
    if not torch.is_autocast_enabled('cuda'):
        return None
    return torch.get_autocast_dtype('cuda')


def tensor_layout(tensor: torch.Tensor) -> tuple:
    """What a captured graph fixes about one of its inputs."""
    return (tuple(tensor.shape), tensor.stride(), tensor.dtype, tensor.device,
            tensor.requires_grad)


class _CaptureGraph(torch.cuda.graph):
    """``torch.cuda.graph`` capturing in 'thread_local' error mode, with fresh cuBLAS workspaces.

    A capture records the address of the workspace each cuBLAS call uses,
    and PyTorch caches one workspace per handle and stream, made in the
    warm-up passes, outside the graph's memory pool. With such cached
    workspaces recorded, MCLNet's ResNet-50 trained NaN backbone gradients
    from the first step on an H200 (bf16, backbone and loss graphs;
    docs/benchmark.md, point 17; which write clobbered them is not known).
    Dropping the cache before each capture makes the capture allocate the
    workspaces it records, inside the graph's own pool.
    """

    def __init__(self, cuda_graph, pool=None, stream=None, **kwargs):
        kwargs['capture_error_mode'] = 'thread_local'
        super().__init__(cuda_graph, pool=pool, stream=stream, **kwargs)

    def __enter__(self):
        torch._C._cuda_clearCublasWorkspaces()
        return super().__enter__()


def make_graphed_thread_local(module: nn.Module, sample_args: tuple) -> Callable:
    """``torch.cuda.make_graphed_callables`` capturing with :class:`_CaptureGraph`.

    'thread_local' error mode: the dataloader's pin-memory thread (and
    NCCL's watchdog) keep making CUDA calls while this thread captures; in
    the default 'global' mode any of them invalidates the capture. The
    function's ``torch.cuda.graph`` is swapped for the duration of the call.

    Autograd's warning that "the AccumulateGrad node's stream does not match"
    is silenced here, and only here: the capture raises it once, as its
    backward pass meets the gradient accumulators of its warm-up passes,
    made on another stream; the replays that follow never raise it
    (docs/benchmark.md, point 21).
    """
    original, torch.cuda.graph = torch.cuda.graph, _CaptureGraph
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings('ignore', message=ACCUMULATOR_STREAM_WARNING)
            graphed = torch.cuda.make_graphed_callables(module, sample_args,
                                                        allow_unused_input=True)
    finally:
        torch.cuda.graph = original
    release_capture_autograd(graphed)
    return graphed


def release_capture_autograd(graphed: Callable) -> int:
    """Drop the autograd graph a capture left on its static outputs; the number of outputs released.

    ``make_graphed_callables`` keeps the outputs of the captured forward
    pass, whose memory each replay rewrites, as the ``static_outputs`` of
    its closures, still attached to the capture-time autograd graph. That
    graph keeps every parameter's gradient accumulator alive, and with it
    the capture stream it was made on: every later backward pass then
    records an event and waits on it per parameter (autograd warns once
    that "the AccumulateGrad node's stream does not match"). The replays
    return detached views of these outputs, so only their memory is needed.
    A PyTorch whose closures name them otherwise releases nothing (0).
    """
    released, todo, seen = 0, [getattr(graphed, 'forward', graphed)], set()
    while todo:
        item = todo.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, type):  # the autograd.Function class a closure made
            todo.extend(getattr(value, '__func__', value) for value in vars(item).values())
            continue
        code, cells = getattr(item, '__code__', None), getattr(item, '__closure__', None)
        for name, cell in zip(code.co_freevars if code else (), cells or ()):
            try:
                value = cell.cell_contents
            except ValueError:  # a cell not yet filled
                continue
            if name == 'static_outputs' and isinstance(value, tuple):
                cell.cell_contents = tuple(_detached(output) for output in value)
                released += sum(isinstance(output, torch.Tensor) for output in value)
            elif callable(value):
                todo.append(value)
    return released


def _detached(value):
    return value.detach() if isinstance(value, torch.Tensor) else value


@contextmanager
def restoring_written_buffers(module: nn.Module):
    """Within the block, buffers of ``module`` that get written end as they were.

    Only the changed ones are copied back: around a loss graph's capture
    ``module`` is the whole model, whose backbone BN statistics may be saved
    for a backward pass of this step that has not run yet, and an in-place
    write would fail that pass. (Values are compared: BN kernels write their statistics
    without moving the tensors' version counters.)
    """
    saved = [(buffer, buffer.detach().clone()) for buffer in module.buffers()]
    try:
        yield
    finally:
        with torch.no_grad():
            for buffer, value in saved:
                if not _same_values(buffer, value):
                    buffer.copy_(value)


def _same_values(a: torch.Tensor, b: torch.Tensor) -> bool:
    """``torch.equal`` that counts NaN as equal to NaN (a NaN running statistic is not a write)."""
    if not a.is_floating_point():
        return torch.equal(a, b)
    return bool(((a == b) | (a.isnan() & b.isnan())).all())


class AutocastForward(nn.Module):
    """``module``'s forward under autocast to ``dtype``; what calls it (a backward pass) runs without."""

    def __init__(self, module: nn.Module, dtype: torch.dtype):
        super().__init__()
        self.module = module
        self.dtype = dtype

    def forward(self, *args):
        with torch.autocast('cuda', dtype=self.dtype, cache_enabled=False):
            return self.module(*args)


def capture_passes(module: nn.Module, sample_args: tuple) -> Callable:
    """Capture ``module``'s forward and backward passes on ``sample_args``.

    The forward pass is captured under the autocast in effect, the backward
    pass without it, as eager training runs them: the optim wrapper's
    backward call is outside its autocast context. Autocast reaches the
    operations a backward pass dispatches, so a backward pass captured
    under it ran the gradients of fp32 regions (the metric losses'
    distances, sums) in bf16 (docs/benchmark.md, point 20).

    Its three warm-up passes write the buffers they touch (BN running
    statistics, a loss's memory): callers restore them
    (:func:`restoring_written_buffers`).
    """
    if torch.is_autocast_enabled('cuda') and torch.is_autocast_cache_enabled():
        raise RuntimeError('CUDA graphs need autocast with cache_enabled=False '
                           '(AutocastOptimWrapper, what --amp uses, sets it)')
    dtype = autocast_dtype()
    if dtype is None:
        return make_graphed_thread_local(module, sample_args)
    with torch.autocast('cuda', enabled=False):
        return make_graphed_thread_local(AutocastForward(module, dtype), sample_args)


def capture_keeping_buffers(module: nn.Module, sample_args: tuple) -> Callable:
    """:func:`capture_passes` of ``module``; its buffers end as they were.

    Capture runs three warm-up passes, which would otherwise count three
    extra batches into BN running statistics.
    """
    with restoring_written_buffers(module):
        return capture_passes(module, sample_args)


class GraphCache:
    """Captured graphs of one computation, one per input layout.

    ``lookup(key, capture, owner, name)`` returns the graph of ``key``,
    calling ``capture()`` the first time the key is seen; ``None`` means run
    eagerly (also for keys whose capture returned :data:`EAGER`). Each graph
    holds its own activation memory: beyond ``max_graphs`` graphs it returns
    ``None`` and warns once. So it does in a distributed run, unless the
    ``owner`` module was wrapped by a capture-safe DDP wrapper
    (:mod:`vireid.models.wrappers`): the gradient accumulators a plain DDP
    wrapper keeps belong to the default stream, which no capture can use.

    Graphs belong to the module that captured them: a copy of the module
    (an EMA model, a pickled one) starts with none and captures its own.
    """

    def __init__(self, max_graphs: int = 4):
        self.max_graphs = max_graphs
        self._graphs: Dict[Hashable, object] = {}
        self._warned = set()

    def __len__(self) -> int:
        return len(self._graphs)

    @property
    def num_graphs(self) -> int:
        """Captured graphs (keys that run eagerly not counted)."""
        return sum(graph is not EAGER for graph in self._graphs.values())

    def __deepcopy__(self, memo):
        return type(self)(self.max_graphs)

    def __getstate__(self):
        return dict(max_graphs=self.max_graphs, _graphs={}, _warned=set())

    def lookup(self, key: Hashable, capture: Callable[[], object], owner: nn.Module,
               name: str):
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        if distributed and not getattr(owner, CAPTURE_SAFE_UNDER_DDP, False):
            self._warn('ddp', f'{name}: CUDA graphs are ignored in a distributed run under this '
                       'DDP wrapper; it runs eagerly. Capture-safe wrappers: '
                       'CaptureSafe(Separate)DistributedDataParallel')
            return None
        if key in self._graphs:
            graph = self._graphs[key]
            return None if graph is EAGER else graph
        if self.num_graphs >= self.max_graphs:
            self._warn('layouts', f'{name}: more than {self.max_graphs} input layouts (modality '
                       'order, shape); new layouts run without CUDA graphs. A sampler '
                       'with a fixed layout per batch avoids this.')
            return None
        graph = self._graphs[key] = capture()
        return None if graph is EAGER else graph

    def _warn(self, kind: str, message: str) -> None:
        """Warn once per kind of message."""
        if kind not in self._warned:
            warnings.warn(message)
            self._warned.add(kind)


def refuse_accumulation(model: nn.Module, optim_wrappers) -> None:
    """Raise if ``model`` replays CUDA graphs and any optim wrapper accumulates gradients.

    A graphed backward pass hands back gradients that live in the graph's
    memory; autograd adopts the first one as ``.grad`` and the next replay
    overwrites it, so an accumulated gradient would count the last
    micro-batch twice.
    """
    backbone = getattr(model, 'backbone', None)
    backbone = getattr(backbone, 'module', backbone)  # a DDP-wrapped child
    if not (getattr(backbone, 'cuda_graph', False) or getattr(model, 'graph_losses', False)):
        return
    for wrapper in optim_wrappers:
        counts = getattr(wrapper, '_accumulative_counts', 1)
        if counts > 1:
            raise ValueError(f'{type(model).__name__}: CUDA graphs (backbone.cuda_graph / '
                             f'graph_losses) cannot accumulate gradients (accumulative_counts='
                             f'{counts}); turn the graphs off or accumulate nothing')
