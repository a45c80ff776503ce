import pytest
import torch.nn as nn

from vireid.engine.optimizers import (GroupedOptimWrapperConstructor,
                                      MultiOptimWrapperConstructor, merge_param_groups)


class _Net(nn.Module):

    def __init__(self):
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        self.head = nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2))
        self.discriminator = nn.Linear(2, 1)


def test_merge_keeps_order_and_options():
    a, b, c = object(), object(), object()
    groups = [dict(params=[a], lr=0.1), dict(params=[b], lr=0.01), dict(params=[c], lr=0.1)]
    assert merge_param_groups(groups) == [dict(params=[a, c], lr=0.1), dict(params=[b], lr=0.01)]


def test_paramwise_options_survive_in_few_groups():
    net = _Net()
    wrapper = GroupedOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=0.1, weight_decay=5e-4)),
        dict(custom_keys={'backbone': dict(lr_mult=0.1)}, norm_decay_mult=0.0))(net)
    groups = wrapper.optimizer.param_groups
    # backbone (lr 0.01), head linear and discriminator (lr 0.1), head BN (no decay)
    assert len(groups) == 3
    lr_of = {id(p): g['lr'] for g in groups for p in g['params']}
    decay_of = {id(p): g['weight_decay'] for g in groups for p in g['params']}
    assert all(lr_of[id(p)] == pytest.approx(0.01) for p in net.backbone.parameters())
    assert lr_of[id(net.head[0].weight)] == pytest.approx(0.1)
    assert decay_of[id(net.head[1].weight)] == 0
    assert sum(len(g['params']) for g in groups) == len(list(net.parameters()))


def test_multi_constructor_merges_each_key_and_ignores_a_copied_constructor():
    net = _Net()
    wrappers = MultiOptimWrapperConstructor(dict(
        main=dict(constructor='GroupedOptimWrapperConstructor',
                  optimizer=dict(type='SGD', lr=0.1),
                  paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)})),
        adversary=dict(optimizer=dict(type='SGD', lr=0.1), modules=['discriminator'])))(net)
    assert len(wrappers['main'].optimizer.param_groups) == 2
    assert len(wrappers['adversary'].optimizer.param_groups) == 1
