"""Capture-safe DDP wrappers: graphs under DDP, and the same training as without DDP."""
import copy
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
from mmengine.model import MMSeparateDistributedDataParallel

from vireid.models.cuda_graphs import EAGER, GraphCache
from vireid.models.wrappers import CaptureSafeSeparateDistributedDataParallel

sys.path.insert(0, str(Path(__file__).parent / 'reid'))
from test_fmcnet import build  # noqa: E402
from test_loss_graphs import train  # noqa: E402


@pytest.fixture
def process_group(request, tmp_path):
    backend = getattr(request, 'param', 'gloo')
    dist.init_process_group(backend, init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    yield
    dist.destroy_process_group()


def test_only_modules_of_a_capture_safe_wrapper_capture_in_a_distributed_run(process_group):
    safe = CaptureSafeSeparateDistributedDataParallel(build(), device_ids=None)
    plain = MMSeparateDistributedDataParallel(build(), device_ids=None)
    graphs = GraphCache()
    assert graphs.lookup('layout', lambda: 'graph', safe.module.backbone.module,
                         'backbone') == 'graph'
    with pytest.warns(UserWarning, match='ignored in a distributed run under this DDP'):
        assert graphs.lookup('other', lambda: 'graph', plain.module.backbone.module,
                             'backbone') is None
    assert len(graphs) == 1


@pytest.mark.gpu
@pytest.mark.parametrize('process_group', ['nccl'], indirect=True)
def test_graphed_ddp_steps_match_eager_steps_of_the_bare_model(process_group):
    torch.cuda.set_device(0)
    eager = build()
    graphed = copy.deepcopy(eager)
    graphed.graph_losses = graphed.backbone.cuda_graph = True
    torch.backends.cudnn.deterministic = True
    try:
        wrapped = CaptureSafeSeparateDistributedDataParallel(graphed.cuda(), device_ids=[0])
        # the discriminators' forward must prepare DDP's all-reduce every step
        with pytest.warns(UserWarning, match='adversary_loss calls FeatureDiscriminator '
                          'through its DDP wrapper'):
            logs_graphed, _ = train(wrapped, 4, 'cuda')
        logs_eager, _ = train(eager, 4, 'cuda')
    finally:
        torch.backends.cudnn.deterministic = False
    assert len(graphed.backbone.module._graphs) == 1  # the wrapper replaced the child
    assert [graph is EAGER for graph in graphed._loss_graphs._graphs.values()] == [True, False]
    # one process: the all-reduce averages one gradient, so DDP changes nothing
    torch.testing.assert_close(logs_graphed, logs_eager, rtol=1e-4, atol=1e-5)
