"""guarded_update: a non-finite loss changes no weight and no optimizer state, on both paths."""
import copy
import math

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from vireid.models.reid import loss_guard
from vireid.models.reid.loss_guard import (NONFINITE_LOSS_INFO, guarded_update, resolve_records,
                                           skips_on_device)


@pytest.fixture(autouse=True)
def clean_hub():
    hub = MessageHub.get_current_instance()
    hub.pop_info(NONFINITE_LOSS_INFO, None)
    yield hub
    hub.pop_info(NONFINITE_LOSS_INFO, None)


def wrapper(optimizer='SGD', fused=True, **kwargs):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    cls = dict(SGD=torch.optim.SGD, Adam=torch.optim.Adam)[optimizer]
    options = dict(lr=0.1, momentum=0.9, nesterov=True) if optimizer == 'SGD' else dict(lr=0.1)
    return model, OptimWrapper(cls(model.parameters(), fused=fused, **options), **kwargs)


def loss_of(model, scale=1.0):
    loss = model(torch.ones(4, 3)).pow(2).mean() * scale
    return loss, dict(loss=loss, loss_a=loss, acc=torch.tensor(0.5))


def snapshot(model, optim_wrapper):
    state = {id(p): {k: v.clone() if torch.is_tensor(v) else v for k, v in s.items()}
             for p, s in optim_wrapper.optimizer.state.items()}
    return [p.detach().clone() for p in model.parameters()], state


def assert_unchanged(model, optim_wrapper, before):
    params, state = before
    assert all(torch.equal(a, p) for a, p in zip(params, model.parameters()))
    now = optim_wrapper.optimizer.state
    assert set(id(p) for p in now) == set(state)
    for p, s in now.items():
        for key, value in s.items():
            assert torch.equal(torch.as_tensor(value), torch.as_tensor(state[id(p)][key])), key
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize('optimizer', ['SGD', 'Adam'])
def test_fused_optimizers_skip_without_a_host_check(optimizer, clean_hub):
    model, ow = wrapper(optimizer)
    assert skips_on_device(ow)
    guarded_update(ow, *loss_of(model))          # creates momentum / moments
    before = snapshot(model, ow)
    guarded_update(ow, *loss_of(model, math.nan))
    assert_unchanged(model, ow, before)
    records = clean_hub.get_info(NONFINITE_LOSS_INFO)
    # the flag of the sync-free path stays a tensor until someone reads it
    assert torch.is_tensor(records[-1]['skipped'])
    resolved = resolve_records(records)
    assert [r['skipped'] for r in resolved] == [False, True]
    assert resolved[1]['step'] == 'main' and list(resolved[1]['terms']) == ['loss_a']
    assert math.isnan(resolved[1]['terms']['loss_a'])


def test_a_finite_step_equals_plain_update_params():
    model, ow = wrapper()
    twin, twin_ow = copy.deepcopy(model), None
    twin_ow = OptimWrapper(torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9,
                                           nesterov=True, fused=True))
    for _ in range(3):
        guarded_update(ow, *loss_of(model))
        twin_ow.update_params(loss_of(twin)[0])
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))


@pytest.mark.parametrize('fused', [True, False])
@pytest.mark.parametrize('scale', [1.0, math.nan])
def test_the_log_outlives_the_step_without_its_graph(fused, scale):
    model, ow = wrapper(fused=fused)
    total, log_vars = loss_of(model, scale)
    guarded_update(ow, total, log_vars)
    assert all(value.grad_fn is None for value in log_vars.values())
    assert log_vars['loss'].item() == pytest.approx(total.item(), nan_ok=True)


def test_a_skipped_first_step_creates_no_momentum_buffer():
    # fused SGD would allocate the buffer uninitialised and keep garbage
    model, ow = wrapper('SGD')
    before = snapshot(model, ow)
    guarded_update(ow, *loss_of(model, math.inf))
    assert_unchanged(model, ow, before)
    assert not ow.optimizer.state
    guarded_update(ow, *loss_of(model))
    buffers = [s['momentum_buffer'] for s in ow.optimizer.state.values()]
    assert len(buffers) == 2 and all(torch.isfinite(b).all() for b in buffers)


def test_after_a_skip_training_continues_as_if_the_step_never_happened():
    model, ow = wrapper()
    twin = copy.deepcopy(model)
    twin_ow = OptimWrapper(torch.optim.SGD(twin.parameters(), lr=0.1, momentum=0.9,
                                           nesterov=True, fused=True))
    guarded_update(ow, *loss_of(model))
    guarded_update(ow, *loss_of(model, math.nan))
    guarded_update(ow, *loss_of(model))
    twin_ow.update_params(loss_of(twin)[0])
    twin_ow.update_params(loss_of(twin)[0])
    assert all(torch.equal(a, b) for a, b in zip(model.parameters(), twin.parameters()))


@pytest.mark.parametrize('make', [
    lambda: wrapper(fused=False),
    lambda: wrapper(accumulative_counts=2),
], ids=['not fused', 'accumulating'])
def test_other_wrappers_check_on_the_host_and_skip_the_backward(make, clean_hub):
    model, ow = make()
    assert not skips_on_device(ow)
    # a gradient accumulated by an earlier micro-batch must survive the skip
    ow.backward(loss_of(model)[0])
    grads = [p.grad.clone() for p in model.parameters()]
    guarded_update(ow, *loss_of(model, math.nan), step='adversary')
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))
    [event] = clean_hub.get_info(NONFINITE_LOSS_INFO)
    assert event['skipped'] is True and event['step'] == 'adversary'


def test_pending_records_are_bounded_without_a_hook(clean_hub, monkeypatch):
    monkeypatch.setattr(loss_guard, 'MAX_PENDING_RECORDS', 4)
    model, ow = wrapper()
    for i in range(9):
        guarded_update(ow, *loss_of(model, math.nan if i == 2 else 1.0))
    records = clean_hub.get_info(NONFINITE_LOSS_INFO)
    assert len(records) <= 5
    # the one skipped step is kept, resolved
    assert [r['skipped'] for r in records if r['skipped'] is True] == [True]
