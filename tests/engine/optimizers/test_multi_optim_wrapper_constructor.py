import pytest
import torch.nn as nn
from mmengine.optim import OptimWrapperDict

from vireid.engine import MultiOptimWrapperConstructor


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(2, 2)
        self.head = nn.Linear(2, 2)
        self.discriminator = nn.Linear(2, 1)


def _cfg(**adversary):
    return dict(
        main=dict(optimizer=dict(type='SGD', lr=0.1),
                  paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)})),
        adversary=dict(optimizer=dict(type='Adam', lr=1e-3), **adversary))


def _params(wrapper):
    return {id(p) for g in wrapper.optimizer.param_groups for p in g['params']}


def test_every_parameter_in_exactly_one_optimizer():
    net = _Net()
    wrappers = MultiOptimWrapperConstructor(_cfg(modules=['discriminator']))(net)
    assert isinstance(wrappers, OptimWrapperDict)
    main, adversary = _params(wrappers['main']), _params(wrappers['adversary'])
    assert adversary == {id(p) for p in net.discriminator.parameters()}
    assert main == {id(p) for n, p in net.named_parameters() if not n.startswith('discriminator')}


def test_paramwise_options_apply_within_a_key():
    net = _Net()
    wrappers = MultiOptimWrapperConstructor(_cfg(modules=['discriminator']))(net)
    lrs = {id(g['params'][0]): g['lr'] for g in wrappers['main'].optimizer.param_groups}
    assert lrs[id(net.backbone.weight)] == pytest.approx(0.01)
    assert lrs[id(net.head.weight)] == pytest.approx(0.1)
    assert wrappers['adversary'].optimizer.param_groups[0]['lr'] == pytest.approx(1e-3)


def test_unknown_module_name_is_reported():
    with pytest.raises(KeyError, match='discriminatr'):
        MultiOptimWrapperConstructor(_cfg(modules=['discriminatr']))(_Net())


def test_two_keys_without_modules_are_rejected():
    with pytest.raises(ValueError, match='only one optimizer key'):
        MultiOptimWrapperConstructor(_cfg())
