import pytest
import torch
import torch.nn as nn
from mmengine.config import Config

from vireid.engine import AutocastOptimWrapper
from vireid.utils.launch import use_amp


def test_forward_runs_in_bf16_and_weights_stay_fp32():
    model = nn.Linear(4, 2)
    wrapper = AutocastOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with wrapper.optim_context(model):
        out = model(torch.randn(3, 4))
    assert out.dtype == torch.bfloat16
    before = model.weight.detach().clone()
    wrapper.update_params(out.float().pow(2).mean())
    assert model.weight.dtype == torch.float32
    assert not torch.equal(before, model.weight)


@pytest.mark.parametrize('dtype, wrapper', [('bfloat16', 'AutocastOptimWrapper'),
                                             ('float16', 'ScaledAutocastOptimWrapper')])
def test_use_amp_converts_every_optimizer_key(dtype, wrapper):
    cfg = Config(dict(optim_wrapper=dict(
        constructor='MultiOptimWrapperConstructor',
        main=dict(optimizer=dict(type='SGD', lr=0.1)),
        adversary=dict(type='OptimWrapper', optimizer=dict(type='Adam'), modules=['d']))))
    use_amp(cfg, dtype)
    for key in ('main', 'adversary'):
        assert cfg.optim_wrapper[key].type == wrapper
        assert cfg.optim_wrapper[key].dtype == dtype
    assert cfg.optim_wrapper.constructor == 'MultiOptimWrapperConstructor'


def test_clipping_keeps_the_norm_on_the_device_instead_of_logging_it_every_step():
    model = nn.Linear(2, 1, bias=False)
    wrapper = AutocastOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0),
                                   clip_grad=dict(max_norm=1.0))
    model.weight.grad = torch.tensor([[3.0, 4.0]])  # norm 5
    wrapper.step()
    assert torch.is_tensor(wrapper.grad_norm) and float(wrapper.grad_norm) == pytest.approx(5.0)
    assert torch.allclose(model.weight.grad, torch.tensor([[0.6, 0.8]]), atol=1e-5)
    # MMEngine's wrapper writes float(norm) into the message hub here
    assert 'train/grad_norm' not in wrapper.message_hub.log_scalars


def test_clipping_by_value_has_no_norm():
    model = nn.Linear(2, 1, bias=False)
    wrapper = AutocastOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.0),
                                   clip_grad=dict(type='value', clip_value=0.5))
    model.weight.grad = torch.tensor([[3.0, -0.25]])
    wrapper.step()
    assert wrapper.grad_norm is None
    assert torch.equal(model.weight.grad, torch.tensor([[0.5, -0.25]]))
