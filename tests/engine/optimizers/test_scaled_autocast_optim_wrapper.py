import math

import pytest
import torch
import torch.nn as nn
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from vireid.engine import ScaledAutocastOptimWrapper
from vireid.engine.optimizers.scaled_autocast_optim_wrapper import unscale_and_check, update_scale
from vireid.models.reid.loss_guard import NONFINITE_LOSS_INFO, guarded_update, resolve_records


@pytest.fixture(autouse=True)
def fresh_hub():
    MessageHub.get_instance('test_scaled_autocast').update_info(NONFINITE_LOSS_INFO, [])


def linear(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(3, 2)


def optimizer_for(model, kind='sgd', fused=True):
    if kind == 'adam':
        return torch.optim.Adam(model.parameters(), lr=0.1, fused=fused)
    return torch.optim.SGD(model.parameters(), lr=0.5, momentum=0.9, fused=fused)


def wrapper_for(model, fused=True, kind='sgd', **kwargs):
    return ScaledAutocastOptimWrapper(optimizer_for(model, kind, fused), **kwargs)


def test_unscale_and_check_divides_in_place_and_flags_what_is_not_finite():
    finite = [torch.tensor([2.0, -4.0]), torch.tensor([[8.0]], dtype=torch.float64)]
    assert unscale_and_check(finite, torch.tensor(4.0)).item() == 0.0
    assert finite[0].tolist() == [0.5, -1.0] and finite[1].item() == 2.0
    overflowed = [torch.tensor([1.0]), torch.tensor([math.inf, 3.0])]
    flag = unscale_and_check(overflowed, torch.tensor(2.0))
    assert flag.item() == 1.0 and flag.shape == ()  # 0-dim: fused Adam needs it so
    assert overflowed[0].item() == 0.5


def test_update_scale_follows_gradscaler_unless_kept():
    scale, count = torch.tensor(8.0), torch.tensor(1, dtype=torch.int32)
    update_scale(scale, count, torch.tensor(0.0), None, 2.0, 0.5, 2)
    assert (scale.item(), count.item()) == (16.0, 0)  # the second finite step in a row
    update_scale(scale, count, torch.tensor(1.0), None, 2.0, 0.5, 2)
    assert (scale.item(), count.item()) == (8.0, 0)
    update_scale(scale, count, torch.tensor(1.0), torch.tensor(1.0), 2.0, 0.5, 2)
    update_scale(scale, count, torch.tensor(0.0), torch.tensor(1.0), 2.0, 0.5, 2)
    assert (scale.item(), count.item()) == (8.0, 0)


def test_the_forward_pass_runs_in_float16_and_the_weights_stay_float32():
    model = linear()
    wrapper = wrapper_for(model)
    with wrapper.optim_context(model):
        out = model(torch.randn(4, 3))
    assert out.dtype == torch.float16
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32 and model.weight.grad is None


@pytest.mark.parametrize('kind', ['sgd', 'adam'])
@pytest.mark.parametrize('fused', [True, False])
def test_a_scaled_step_moves_the_weights_as_an_unscaled_float32_step(fused, kind):
    # the scale is a power of two: scaling and unscaling are exact in float32
    scaled_model, plain_model = linear(), linear()
    wrapper = wrapper_for(scaled_model, fused=fused, kind=kind, init_scale=2.0**10)
    plain = optimizer_for(plain_model, kind, fused)
    x = torch.randn(5, 3)
    for _ in range(3):
        wrapper.update_params(scaled_model(x).pow(2).mean())
        plain.zero_grad()
        plain_model(x).pow(2).mean().backward()
        plain.step()
    assert torch.equal(scaled_model.weight, plain_model.weight)
    assert torch.equal(scaled_model.bias, plain_model.bias)


def test_an_overflow_skips_the_step_creates_no_state_and_halves_the_scale():
    model = linear()
    wrapper = wrapper_for(model, init_scale=2.0**16)
    before = model.weight.detach().clone()
    # d loss / d w = 1e34, times 2**16: past float32's 3.4e38
    total = (model.weight * 1e34).sum()
    guarded_update(wrapper, total, dict(loss=total))
    assert torch.equal(model.weight, before)
    assert len(wrapper.optimizer.state) == 0  # no momentum buffer left uninitialised
    assert wrapper.loss_scale.item() == 2.0**15
    assert not hasattr(wrapper.optimizer, 'found_inf')
    # an overflow is the scale's business, not a failed loss: nothing recorded as skipped
    events = resolve_records(MessageHub.get_current_instance().get_info(NONFINITE_LOSS_INFO))
    assert [e['skipped'] for e in events] == [False]


def test_the_scale_grows_after_growth_interval_finite_steps_and_an_overflow_resets_the_count():
    model = linear()
    wrapper = wrapper_for(model, init_scale=8.0, growth_interval=2)
    x = torch.randn(5, 3)

    def finite_step():
        wrapper.update_params(model(x).pow(2).mean())

    finite_step()
    assert wrapper.loss_scale.item() == 8.0
    finite_step()
    assert wrapper.loss_scale.item() == 16.0
    finite_step()
    wrapper.update_params((model.weight * 1e38).sum())  # overflows at 16x
    assert wrapper.loss_scale.item() == 8.0
    finite_step()
    assert wrapper.loss_scale.item() == 8.0  # the count restarted at the overflow


@pytest.mark.parametrize('kind', ['sgd', 'adam'])
@pytest.mark.parametrize('fused', [True, False])
def test_a_loss_the_guard_rejects_changes_no_weight(fused, kind):
    model = linear()
    wrapper = wrapper_for(model, fused=fused, kind=kind)
    x = torch.randn(5, 3)
    wrapper.update_params(model(x).pow(2).mean())  # creates the momentum state
    weight = model.weight.detach().clone()
    state = {k: v.clone() for k, v in wrapper.optimizer.state[model.weight].items()}
    total = model(x).pow(2).mean() * torch.tensor(math.nan)
    guarded_update(wrapper, total, dict(loss=total))
    assert torch.equal(model.weight, weight)
    after = wrapper.optimizer.state[model.weight]
    assert state.keys() == after.keys()  # momentum, or Adam's moments and step count
    assert all(torch.equal(state[k], after[k]) for k in state)
    events = resolve_records(MessageHub.get_current_instance().get_info(NONFINITE_LOSS_INFO))
    assert events[-1]['skipped'] is True


@pytest.mark.parametrize('kind', ['sgd', 'adam'])
def test_a_loss_the_guard_rejects_with_finite_gradients_is_skipped_and_leaves_the_scale(kind):
    # the guard's flag, not an overflow, must skip this step: its gradients are finite
    model = linear()
    wrapper = wrapper_for(model, kind=kind, init_scale=8.0, growth_interval=1)
    before = model.weight.detach().clone()
    total = model(torch.randn(5, 3)).pow(2).mean() + math.inf
    guarded_update(wrapper, total, dict(loss=total))
    assert torch.equal(model.weight, before)
    assert (wrapper.loss_scale.item(), wrapper._growth_tracker.item()) == (8.0, 0)


def test_with_gradient_accumulation_an_overflowing_first_step_creates_no_state():
    # fused SGD allocates momentum uninitialised and the skipped kernel never fills it
    scaled_model, plain_model = linear(), linear()
    wrapper = wrapper_for(scaled_model, accumulative_counts=2)
    plain = OptimWrapper(optimizer_for(plain_model), accumulative_counts=2)
    for each in (wrapper, plain):
        each.initialize_count_status(scaled_model, 0, 100)
    x = torch.randn(5, 3)
    for _ in range(2):  # one real step, overflowing at 2**16
        wrapper.update_params((scaled_model.weight * 1e34).sum())
    assert len(wrapper.optimizer.state) == 0 and wrapper.loss_scale.item() == 2.0**15
    for _ in range(4):  # two real steps, as the plain wrapper's first two
        wrapper.update_params(scaled_model(x).pow(2).mean())
        plain.update_params(plain_model(x).pow(2).mean())
    assert torch.equal(scaled_model.weight, plain_model.weight)


def test_an_optimizer_without_parameters_steps_as_a_no_op():
    wrapper = ScaledAutocastOptimWrapper(torch.optim.SGD([{'params': []}], lr=0.1))
    assert wrapper.loss_scale.item() == 2.0**16
    wrapper.update_params(torch.tensor(1.0, requires_grad=True) * 2)
    assert wrapper.loss_scale.item() == 2.0**16


def test_an_amp_optim_wrapper_checkpoint_hands_over_its_scale():
    # what --amp-dtype float16 saved before it used this wrapper: a GradScaler's state
    scaler = torch.amp.GradScaler('cpu', init_scale=128.0)
    state = dict(optimizer_for(linear()).state_dict(), loss_scaler=scaler.state_dict())
    wrapper = wrapper_for(linear())
    wrapper.load_state_dict(state)
    assert wrapper.loss_scale.item() == 128.0


def test_the_scale_and_its_count_survive_a_checkpoint(tmp_path):
    model = linear()
    wrapper = wrapper_for(model, init_scale=4.0, growth_interval=3)
    x = torch.randn(5, 3)
    for _ in range(4):
        wrapper.update_params(model(x).pow(2).mean())
    torch.save(wrapper.state_dict(), tmp_path / 'optim.pth')
    restored = wrapper_for(linear(), growth_interval=3)
    restored.load_state_dict(torch.load(tmp_path / 'optim.pth'))
    assert restored.loss_scale.item() == 8.0
    assert restored._growth_tracker.item() == 1
    assert restored.optimizer.state_dict()['state'].keys() == {0, 1}


def test_clipping_sees_unscaled_gradients_and_an_overflow_is_not_an_error():
    scaled_model, plain_model = linear(), linear()
    wrapper = wrapper_for(scaled_model, clip_grad=dict(max_norm=0.1))
    plain = OptimWrapper(optimizer_for(plain_model), clip_grad=dict(max_norm=0.1))
    x = torch.randn(5, 3)
    wrapper.update_params(scaled_model(x).pow(2).mean())
    plain.update_params(plain_model(x).pow(2).mean())
    assert torch.allclose(scaled_model.weight, plain_model.weight, rtol=0, atol=1e-7)
    with pytest.raises(ValueError, match='error_if_nonfinite'):
        wrapper_for(linear(), clip_grad=dict(max_norm=0.1, error_if_nonfinite=True))


def test_bad_scale_rules_are_refused_with_their_values():
    with pytest.raises(ValueError, match='growth_factor > 1.*0.5, 0.5, 10'):
        wrapper_for(linear(), growth_factor=0.5, backoff_factor=0.5, growth_interval=10)

