"""TwoStreamResNet(cuda_graph=True): replayed training passes compute what eager ones do."""
import copy

import pytest
import torch

from vireid.models.backbones import TwoStreamResNet

VIS, IR = 0, 1
LAYOUT = torch.tensor([VIS, VIS, IR, IR, VIS, IR])


def pair(**kwargs):
    """An eager and a graphed backbone with the same weights."""
    torch.manual_seed(0)
    eager = TwoStreamResNet(depth=18, base_channels=8, non_local=dict(layer2=(1, )), **kwargs)
    eager.init_weights()
    with torch.no_grad():  # stems that differ, so routing matters
        for p in eager.infrared.parameters():
            p.add_(torch.randn_like(p) * 0.1)
        for module in eager.modules():  # non-local blocks that are not the identity
            if hasattr(module, 'W'):
                module.W[1].weight.fill_(0.5)
    graphed = copy.deepcopy(eager)
    graphed.cuda_graph = True
    return eager, graphed


def train_steps(backbone, batches, modality):
    optimizer = torch.optim.SGD(backbone.parameters(), lr=0.1, momentum=0.9)
    backbone.train()
    losses = []
    for x in batches:
        outputs = backbone(x, modality)
        loss = sum((o.float() ** 2).mean() for o in outputs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.detach().clone())
    return torch.stack(losses)


def test_on_the_cpu_the_option_changes_nothing():
    eager, graphed = pair()
    batches = [torch.randn(6, 3, 32, 16) for _ in range(2)]
    torch.testing.assert_close(train_steps(graphed, batches, LAYOUT),
                               train_steps(eager, batches, LAYOUT))
    assert len(graphed._graphs) == 0


@pytest.mark.gpu
@pytest.mark.parametrize('specific_tail', [False, True])
def test_graphed_steps_match_eager_steps(specific_tail):
    split = 'layer2' if specific_tail else 'stem'
    eager, graphed = pair(split=split, specific_tail=specific_tail)
    eager, graphed = eager.cuda(), graphed.cuda()
    batches = [torch.randn(6, 3, 64, 32, device='cuda') for _ in range(4)]
    torch.backends.cudnn.deterministic = True
    try:
        losses_graphed = train_steps(graphed, batches, LAYOUT)
        losses_eager = train_steps(eager, batches, LAYOUT)
    finally:
        torch.backends.cudnn.deterministic = False
    assert len(graphed._graphs) == 1
    torch.testing.assert_close(losses_graphed, losses_eager, rtol=1e-4, atol=1e-5)
    for (name, a), b in zip(graphed.state_dict().items(), eager.state_dict().values()):
        # weights after four updates and BN statistics of exactly four batches:
        # capturing (with its warm-up passes) left the buffers as they were
        torch.testing.assert_close(a.float(), b.float(), rtol=1e-3, atol=1e-4, msg=name)


@pytest.mark.gpu
def test_each_layout_gets_its_graph_and_eval_runs_eagerly():
    _, graphed = pair()
    graphed = graphed.cuda()
    x = torch.randn(6, 3, 64, 32, device='cuda')
    train_steps(graphed, [x], LAYOUT)
    train_steps(graphed, [x], LAYOUT.flip(0))
    train_steps(graphed, [x[:4]], LAYOUT[:4])
    assert len(graphed._graphs) == 3
    eager = copy.deepcopy(graphed)  # the trained weights, no graphs
    eager.cuda_graph = False
    assert len(eager._graphs) == 0
    graphed.eval(), eager.eval()
    with torch.no_grad():
        torch.testing.assert_close(graphed(x, LAYOUT)[0], eager(x, LAYOUT)[0], rtol=0, atol=0)
    assert len(graphed._graphs) == 3


@pytest.mark.gpu
def test_autocast_with_its_weight_cache_is_refused():
    _, graphed = pair()
    graphed = graphed.cuda().train()
    x = torch.randn(6, 3, 64, 32, device='cuda')
    with torch.autocast('cuda', dtype=torch.bfloat16), pytest.raises(RuntimeError,
                                                                      match='cache_enabled'):
        graphed(x, LAYOUT)
    with torch.autocast('cuda', dtype=torch.bfloat16, cache_enabled=False):
        (out, ) = graphed(x, LAYOUT)
    assert out.dtype == torch.bfloat16 and len(graphed._graphs) == 1


def test_a_distributed_run_falls_back_to_eager_passes_with_one_warning(tmp_path):
    import torch.distributed as dist

    from vireid.models.backbones.cuda_graphs import BackboneGraphs
    from vireid.models.backbones import plan_routes
    dist.init_process_group('gloo', init_method=f'file://{tmp_path / "store"}', rank=0,
                            world_size=1)
    try:
        graphs, (_, backbone) = BackboneGraphs(), pair()
        x = torch.randn(6, 3, 32, 16)
        with pytest.warns(UserWarning, match='ignored in a distributed run'):
            assert graphs.get(x, plan_routes(LAYOUT, 6, 2), backbone) is None
        assert graphs.get(x, plan_routes(LAYOUT, 6, 2), backbone) is None  # warned once
        assert len(graphs) == 0
    finally:
        dist.destroy_process_group()
