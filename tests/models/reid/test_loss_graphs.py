"""FMCNet(graph_losses=True): replayed loss terms train exactly as eager ones do."""
import copy

import pytest
import torch
import torch.nn as nn

from vireid.models.reid.loss_graphs import LossGraphs, _FeatureLoss
from test_fmcnet import batch, build  # same directory: pytest puts it on the path


def sgd(model, lr=0.05):
    from vireid.engine.optimizers import MultiOptimWrapperConstructor
    return MultiOptimWrapperConstructor(dict(
        main=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9)),
        adversary=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9),
                       modules=['discriminator_v2i', 'discriminator_i2v'])))(model)


def train(model, steps, device):
    """Logged terms of ``steps`` training steps on the same batch."""
    model = model.to(device).train()
    optim_wrapper = sgd(model)
    inputs, samples = batch()
    data = dict(inputs=inputs.to(device), data_samples=samples)
    logs = []
    for _ in range(steps):
        log_vars = model.train_step(data, optim_wrapper)
        logs.append(torch.stack([log_vars[k].detach().float() for k in sorted(log_vars)]))
    return torch.stack(logs), model


def test_on_the_cpu_the_option_changes_nothing():
    eager = build()
    graphed = copy.deepcopy(eager)
    graphed.graph_losses = True
    logs_graphed, graphed = train(graphed, 2, 'cpu')
    logs_eager, _ = train(eager, 2, 'cpu')
    torch.testing.assert_close(logs_graphed, logs_eager)
    assert len(graphed._loss_graphs) == 0


def test_features_must_all_be_tensors():
    graphs = LossGraphs()
    features = dict(labels=torch.zeros(2, dtype=torch.long), names=['a', 'b'])
    with pytest.raises(TypeError, match=r"\['names'\] are not tensors"):
        graphs(lambda f, s: {}, features, None, nn.Module(), nn.Module)


def test_a_graphed_loss_that_reads_the_data_samples_is_refused():
    def per_sample_weights(features, data_samples):
        return dict(loss=features['x'].sum() * len(data_samples))

    module = _FeatureLoss(per_sample_weights, nn.Module())
    with pytest.raises(RuntimeError, match='per_sample_weights reads data_samples'):
        module(dict(x=torch.ones(2)))


@pytest.mark.gpu
def test_graphed_steps_match_eager_steps():
    eager = build()
    graphed = copy.deepcopy(eager)
    graphed.graph_losses = True
    torch.backends.cudnn.deterministic = True
    try:
        logs_graphed, graphed = train(graphed, 4, 'cuda')
        logs_eager, eager = train(eager, 4, 'cuda')
    finally:
        torch.backends.cudnn.deterministic = False
    # one graph for the discriminators' terms, one for the rest
    assert len(graphed._loss_graphs) == 2
    torch.testing.assert_close(logs_graphed, logs_eager, rtol=1e-4, atol=1e-5)
    for (name, a), b in zip(graphed.state_dict().items(), eager.state_dict().values()):
        # four updates of both optimizers, from the same gradients
        torch.testing.assert_close(a.float(), b.float(), rtol=1e-3, atol=1e-4, msg=name)


@pytest.mark.gpu
def test_a_new_batch_layout_gets_its_own_graphs():
    model = build(graph_losses=True).cuda().train()
    optim_wrapper = sgd(model)
    inputs, samples = batch()
    model.train_step(dict(inputs=inputs.cuda(), data_samples=samples), optim_wrapper)
    model.train_step(dict(inputs=inputs[:6].cuda(), data_samples=samples[:6]), optim_wrapper)
    assert len(model._loss_graphs) == 4
