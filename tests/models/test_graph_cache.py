"""GraphCache bookkeeping, the capture set-up, the refusal of gradient accumulation; replays on a GPU."""
import copy

import pytest
import torch
import torch.nn as nn
from mmengine.optim import OptimWrapper
from torch.optim import SGD

from vireid.models.cuda_graphs import EAGER, GraphCache, refuse_accumulation


def test_a_key_whose_capture_says_eager_runs_eagerly_and_takes_no_graph_slot():
    graphs = GraphCache(max_graphs=1)
    assert graphs.lookup('a', lambda: EAGER, nn.Module(), 'loss') is None
    assert graphs.lookup('b', lambda: 'graph b', nn.Module(), 'loss') == 'graph b'
    assert graphs.num_graphs == 1 and len(graphs) == 2
    with pytest.warns(UserWarning, match='more than 1 input layouts'):
        assert graphs.lookup('c', lambda: 'graph c', nn.Module(), 'loss') is None


def test_each_kind_of_warning_is_given_once():
    graphs = GraphCache(max_graphs=0)
    with pytest.warns(UserWarning, match='first'):
        graphs._warn('wrapper', 'first')
    with pytest.warns(UserWarning, match='more than 0 input layouts'):
        graphs.lookup('a', lambda: 'graph', nn.Module(), 'loss')  # another kind still warns
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        graphs._warn('wrapper', 'again')  # said once already: silent


class Graphed(nn.Module):
    def __init__(self, graph_losses):
        super().__init__()
        self.layer = nn.Linear(2, 2)
        self.graph_losses = graph_losses


@pytest.mark.parametrize('graph_losses', [True, False])
def test_graphs_with_gradient_accumulation_are_refused(graph_losses):
    model = Graphed(graph_losses)
    wrapper = OptimWrapper(SGD(model.parameters(), lr=0.1), accumulative_counts=2)
    if graph_losses:
        with pytest.raises(ValueError, match='accumulative_counts=2'):
            refuse_accumulation(model, (wrapper, ))
    else:
        refuse_accumulation(model, (wrapper, ))
    refuse_accumulation(model, (OptimWrapper(SGD(model.parameters(), lr=0.1)), ))


def test_restoring_buffers_copies_back_only_those_written():
    import torch
    from vireid.models.cuda_graphs import restoring_written_buffers
    model = nn.Sequential(nn.BatchNorm1d(3), nn.BatchNorm1d(3)).train()
    used, untouched = model
    before = used.running_mean.clone()
    with restoring_written_buffers(model):
        used(torch.randn(8, 3) + 5)
        assert not torch.equal(used.running_mean, before)  # the pass did write
    torch.testing.assert_close(used.running_mean, before)
    assert used.num_batches_tracked.item() == 0
    # not written, so not rewritten: a backward pass that saved it still runs
    versions = [buffer._version for buffer in untouched.buffers()]
    with restoring_written_buffers(model):
        used(torch.randn(8, 3))
    assert [buffer._version for buffer in untouched.buffers()] == versions


def test_a_nan_statistic_that_was_not_written_is_not_rewritten():
    # a skipped non-finite step can leave NaN running statistics behind
    import torch
    from vireid.models.cuda_graphs import restoring_written_buffers
    model = nn.Sequential(nn.BatchNorm1d(3), nn.BatchNorm1d(3)).train()
    used, untouched = model
    with torch.no_grad():
        untouched.running_var.fill_(float('nan'))
    versions = [buffer._version for buffer in untouched.buffers()]
    with restoring_written_buffers(model):
        used(torch.randn(8, 3))
    assert [buffer._version for buffer in untouched.buffers()] == versions


def test_every_capture_starts_with_fresh_cublas_workspaces_in_thread_local_mode(monkeypatch):
    # what make_graphed_callables sees as torch.cuda.graph, and what its captures do on entry
    import vireid.models.cuda_graphs as cuda_graphs
    original, calls = torch.cuda.graph, []
    monkeypatch.setattr(torch._C, '_cuda_clearCublasWorkspaces', lambda: calls.append('clear'),
                        raising=False)
    monkeypatch.setattr(original, '__init__',
                        lambda self, graph, pool=None, stream=None, **kwargs: calls.append(kwargs))
    monkeypatch.setattr(original, '__enter__', lambda self: calls.append('capture_begin'))

    def fake_make_graphed_callables(module, sample_args, allow_unused_input):
        capture = torch.cuda.graph('cuda_graph', capture_error_mode='global')
        capture.__enter__()
        return torch.cuda.graph

    monkeypatch.setattr(torch.cuda, 'make_graphed_callables', fake_make_graphed_callables)
    used = cuda_graphs.make_graphed_thread_local(torch.nn.Linear(2, 2), (torch.zeros(1, 2), ))
    assert used is not original and issubclass(used, original)
    assert calls == [dict(capture_error_mode='thread_local'), 'clear', 'capture_begin']
    assert torch.cuda.graph is original  # restored after the call


def _closures_like_make_graphed_callables(static_outputs):
    """The shape of the closures ``make_graphed_callables`` builds (a module's new forward)."""
    class Graphed(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *inputs):
            return tuple(o.detach() for o in static_outputs)

    def functionalized(*user_args):
        return Graphed.apply(*user_args)

    def new_fwd(*user_args):
        return functionalized(*user_args)

    module = nn.Linear(2, 2)
    module.forward = new_fwd
    return module, Graphed


def test_releasing_a_capture_detaches_the_static_outputs_keeping_their_memory():
    from vireid.models.cuda_graphs import release_capture_autograd
    weight = torch.ones(2, requires_grad=True)
    output = weight * 2
    module, graphed_cls = _closures_like_make_graphed_callables((output, None))
    assert release_capture_autograd(module) == 1
    cells = dict(zip(graphed_cls.forward.__code__.co_freevars, graphed_cls.forward.__closure__))
    kept, untouched = cells['static_outputs'].cell_contents
    assert kept.grad_fn is None and untouched is None
    assert kept.data_ptr() == output.data_ptr()  # the memory replays write stays the same
    assert release_capture_autograd(nn.Linear(2, 2)) == 0  # nothing of the kind: nothing done


def test_every_capture_is_released(monkeypatch):
    import vireid.models.cuda_graphs as cuda_graphs
    output = torch.ones(2, requires_grad=True) * 2
    module, graphed_cls = _closures_like_make_graphed_callables((output, ))
    monkeypatch.setattr(torch.cuda, 'make_graphed_callables', lambda *args, **kwargs: module)
    assert cuda_graphs.make_graphed_thread_local(nn.Linear(2, 2), (torch.zeros(1, 2), )) is module
    cells = dict(zip(graphed_cls.forward.__code__.co_freevars, graphed_cls.forward.__closure__))
    assert cells['static_outputs'].cell_contents[0].grad_fn is None


def _accumulator(parameter):
    return parameter.view_as(parameter).grad_fn.next_functions[0][0]


@pytest.mark.gpu
def test_a_released_capture_frees_the_accumulators_made_on_the_capture_stream():
    from vireid.models.cuda_graphs import release_capture_autograd
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 1)).cuda()
    x = torch.randn(4, 8, device='cuda')
    eager = copy.deepcopy(module)
    graphed = torch.cuda.make_graphed_callables(module, (x.clone(), ))
    for p in module.parameters():  # a tag lives as long as the accumulator does
        _accumulator(p).metadata['made_in_capture'] = True
    assert all('made_in_capture' in _accumulator(p).metadata for p in module.parameters())
    assert release_capture_autograd(graphed) == 1
    assert not any('made_in_capture' in _accumulator(p).metadata for p in module.parameters())
    graphed(x).sum().backward()  # the replays still compute the eager gradients
    eager(x).sum().backward()
    for graphed_p, eager_p in zip(module.parameters(), eager.parameters()):
        torch.testing.assert_close(graphed_p.grad, eager_p.grad)


class _Fp32Distances(nn.Module):
    """A bf16 projection, then distances in fp32 with autocast off, as the metric losses compute them."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(256, 128)

    def forward(self, x):
        y = self.proj(x)
        with torch.autocast('cuda', enabled=False):
            y = y.float()
            return (y @ y.t()).sum(dim=1).mean() + y.sum()


@pytest.mark.gpu
@pytest.mark.parametrize('dtype', [torch.bfloat16, torch.float16])
def test_under_autocast_a_replay_computes_the_eager_gradients_bit_for_bit(dtype):
    # eager training calls backward outside autocast; a backward captured
    # under it ran the fp32 region's gradient matmul and sums in bf16
    from vireid.models.cuda_graphs import capture_passes
    torch.manual_seed(0)
    module = _Fp32Distances().cuda()
    eager = copy.deepcopy(module)
    x = torch.randn(64, 256, device='cuda', requires_grad=True)
    x_eager = x.detach().clone().requires_grad_()
    with torch.autocast('cuda', dtype=dtype, cache_enabled=False):
        graphed = capture_passes(module, (x.detach().clone().requires_grad_(), ))
        graphed_loss, eager_loss = graphed(x), eager(x_eager)
    graphed_loss.backward()
    eager_loss.backward()
    assert torch.equal(graphed_loss, eager_loss)
    assert torch.equal(x.grad, x_eager.grad)
    for graphed_p, eager_p in zip(module.parameters(), eager.parameters()):
        assert torch.equal(graphed_p.grad, eager_p.grad)


def test_a_capture_silences_only_the_accumulator_stream_warning(monkeypatch):
    import warnings

    import vireid.models.cuda_graphs as cuda_graphs

    def warning_capture(module, sample_args, allow_unused_input):
        warnings.warn(cuda_graphs.ACCUMULATOR_STREAM_WARNING + ' the stream of the node ...')
        warnings.warn('another warning')
        return module

    monkeypatch.setattr(torch.cuda, 'make_graphed_callables', warning_capture)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        cuda_graphs.make_graphed_thread_local(nn.Linear(2, 2), (torch.zeros(1, 2), ))
        warnings.warn(cuda_graphs.ACCUMULATOR_STREAM_WARNING + ' outside a capture')
    assert [str(w.message) for w in caught] == [
        'another warning', cuda_graphs.ACCUMULATOR_STREAM_WARNING + ' outside a capture']
