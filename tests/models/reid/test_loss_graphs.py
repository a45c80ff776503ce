"""FMCNet(graph_losses=True): replayed loss terms train exactly as eager ones do."""
import copy

import pytest
import torch
import torch.nn as nn
from test_fmcnet import batch, build  # same directory: pytest puts it on the path

from vireid.models.reid.loss_graphs import LossGraphs, _FeatureLoss, reached_parameters
from vireid.structures import ReIDDataSample

# per step, the identities of batch()'s two label slots: new labels (and new
# images) every step, the same modality layout
RELABEL = [(0, 2), (2, 0), (1, 2), (2, 1)]


def sgd(model, lr=0.05):
    from vireid.engine.optimizers import MultiOptimWrapperConstructor
    return MultiOptimWrapperConstructor(dict(
        main=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9)),
        adversary=dict(optimizer=dict(type='SGD', lr=lr, momentum=0.9),
                       modules=['discriminator_v2i', 'discriminator_i2v'])))(model)


def step_batch(step, size=None):
    inputs, samples = batch()
    first, second = RELABEL[step % len(RELABEL)]
    samples = [ReIDDataSample(metainfo=dict(gt_label=first if s.gt_label == 0 else second,
                                            modality=s.modality)) for s in samples]
    inputs = torch.rand(inputs.shape, generator=torch.Generator().manual_seed(step)) * 255
    return inputs[:size], samples[:size]


def train(model, steps, device, size=None, optim_wrapper=None):
    """Logged terms of ``steps`` training steps, each on new images and labels."""
    model = model.to(device).train()
    optim_wrapper = optim_wrapper or sgd(model)
    logs = []
    for step in range(steps):
        inputs, samples = step_batch(step, size)
        log_vars = model.train_step(dict(inputs=inputs.to(device), data_samples=samples),
                                    optim_wrapper)
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
        graphs(lambda f, s: {}, features, None, nn.Module())


def test_a_graphed_loss_that_reads_the_data_samples_is_refused():
    def per_sample_weights(features, data_samples):
        return dict(loss=features['x'].sum() * len(data_samples))

    module = _FeatureLoss(per_sample_weights)
    with pytest.raises(RuntimeError, match='per_sample_weights reads data_samples'):
        module(dict(x=torch.ones(2)))


def test_a_graph_trains_only_the_parameters_its_loss_reaches():
    model = nn.ModuleDict(dict(head=nn.Linear(3, 2), centers=nn.Linear(3, 3, bias=False),
                               unused=nn.Linear(3, 3), frozen=nn.Linear(3, 2)))
    model.frozen.requires_grad_(False)
    x = torch.randn(4, 3, requires_grad=True)

    def loss_fn(features, _):
        x = features['x']
        with torch.no_grad():  # read, not trained
            accuracy = model.unused(x).sum()
        # through a view of the weight, as a transposed matmul is
        return dict(loss=(model.head(x) + model.frozen(x)).sum() + (x @ model.centers.weight.t()).sum(),
                    acc=accuracy)

    terms = _FeatureLoss(loss_fn)(dict(x=x))
    reached = reached_parameters(terms.values(), model)
    assert {id(p) for p in reached} == {id(model.head.weight), id(model.head.bias),
                                        id(model.centers.weight)}
    # a term may be a list of tensors, as parse_losses allows
    listed = reached_parameters([[terms['acc'], model.unused(x).sum()]], model)
    assert {id(p) for p in listed} == {id(model.unused.weight), id(model.unused.bias)}
    assert list(_FeatureLoss(loss_fn, reached).parameters()) == reached


def test_a_training_step_keeps_no_autograd_graph_in_its_log():
    # a graph kept alive past the step pins its parameters' gradient
    # accumulators to the eager stream, which a later capture cannot use
    model = build()
    inputs, samples = step_batch(0)
    log_vars = model.train_step(dict(inputs=inputs, data_samples=samples), sgd(model))
    assert {'loss', 'loss_adversary'} <= log_vars.keys()
    assert all(value.grad_fn is None for value in log_vars.values())


def test_a_new_state_or_layout_captures_anew_and_the_same_one_replays():
    graphs, captured = LossGraphs(), []

    def capture(loss_fn, features, model):  # stands in for the GPU capture
        captured.append(features['x'].shape)
        return lambda feats: dict(loss=feats['x'].sum() + len(captured))

    graphs.capture = capture
    model, loss_fn = nn.Module(), lambda f, s: {}
    x = torch.ones(2)
    assert graphs(loss_fn, dict(x=x), None, model, (('fc', 1.0), ))['loss'] == 3
    assert graphs(loss_fn, dict(x=x), None, model, (('fc', 1.0), ))['loss'] == 3  # replayed
    graphs(loss_fn, dict(x=x), None, model, (('fc', 0.0), ))
    graphs(loss_fn, dict(x=torch.ones(3)), None, model, (('fc', 0.0), ))
    assert captured == [(2, ), (2, ), (3, )]


def test_the_settings_in_a_graph_key_follow_the_loss_weights():
    model = build(graph_losses=True)
    before = model._settings()
    assert ('fc_reduction', 'mean') in before
    model.loss_weights = dict(model.loss_weights, fc=0.0)
    # a graph captured before would not see the new weight: the key changes
    assert model._settings() != before


def assert_graphed_trains_as_eager(eager, train_fn, steps=4):
    """``steps`` steps of a graphed copy of ``eager`` log and update as ``eager``'s; the copy."""
    graphed = copy.deepcopy(eager)
    graphed.graph_losses = True
    torch.backends.cudnn.deterministic = True
    try:
        logs_graphed, graphed = train_fn(graphed, steps, 'cuda')
        logs_eager, eager = train_fn(eager, steps, 'cuda')
    finally:
        torch.backends.cudnn.deterministic = False
    torch.testing.assert_close(logs_graphed, logs_eager, rtol=1e-4, atol=1e-5)
    for (name, a), b in zip(graphed.state_dict().items(), eager.state_dict().values()):
        # updates of both optimizers, from the same gradients
        torch.testing.assert_close(a.float(), b.float(), rtol=1e-3, atol=1e-4, msg=name)
    return graphed


@pytest.mark.gpu
def test_graphed_steps_match_eager_steps():
    graphed = assert_graphed_trains_as_eager(build(), train)
    # one graph for the discriminators' terms, one for the rest
    assert len(graphed._loss_graphs) == 2


@pytest.mark.gpu
def test_a_new_batch_layout_gets_its_own_graphs():
    eager = build()
    graphed = copy.deepcopy(eager)
    graphed.graph_losses = True
    logs = {}
    for name, model in (('graphed', graphed), ('eager', eager)):
        optim_wrapper = sgd(model.cuda())
        first, _ = train(model, 2, 'cuda', optim_wrapper=optim_wrapper)
        second, _ = train(model, 2, 'cuda', size=6, optim_wrapper=optim_wrapper)
        logs[name] = torch.cat([first, second])
    assert len(graphed._loss_graphs) == 4
    torch.testing.assert_close(logs['graphed'], logs['eager'], rtol=1e-4, atol=1e-5)
