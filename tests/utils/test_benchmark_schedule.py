"""Helpers of the benchmark tool: the schedule's first learning rates."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper

from vireid.registry import MODELS
from vireid.utils import register_all_modules
from vireid.utils.benchmark import start_schedule

ROOT = Path(__file__).resolve().parents[2]


def built(config):
    register_all_modules()
    cfg = Config.fromfile(str(ROOT / config))
    cfg.model.backbone.update(depth=18, base_channels=8, init_cfg=None, non_local=None)
    cfg.model.head.in_channels = 64
    if cfg.model.get('modality_classifier'):
        cfg.model.modality_classifier.in_channels = 64
    model = MODELS.build(cfg.model)
    return cfg, build_optim_wrapper(model, cfg.optim_wrapper)


def lrs(optim_wrapper):
    return sorted({round(g['lr'], 12) for g in optim_wrapper.optimizer.param_groups})


def test_one_optimizer_starts_at_the_warm_up_factor():
    cfg, ow = built('configs/agw/agw_r50_sysu.py')
    # SGD 0.1, backbone lr_mult 0.1; LinearLR from 0.1x
    assert lrs(ow) == [0.01, 0.1]
    start_schedule(ow, cfg.param_scheduler)
    assert lrs(ow) == pytest.approx([0.001, 0.01])


def test_each_optimizer_key_gets_its_own_schedule():
    cfg, ow = built('configs/mclnet/mclnet_r50_sysu.py')
    start_schedule(ow, cfg.param_scheduler)
    assert lrs(ow['main']) == pytest.approx([0.001, 0.01])
    assert lrs(ow['adversary']) == pytest.approx([0.01])


def test_host_profile_labels_start_at_the_functions_package():
    from vireid.utils.benchmark import function_label
    site = '/usr/lib/python3.11/site-packages'
    assert function_label(f'{site}/mmpretrain/models/backbones/resnet.py', 249, 'forward') == \
        'mmpretrain/models/backbones/resnet.py:249(forward)'
    # the last vireid folder of a checkout path, not a folder of the same name above it
    assert function_label('/home/vireid/src/vireid/models/reid/agw.py', 69, 'train_step') == \
        'vireid/models/reid/agw.py:69(train_step)'
    assert function_label('~', 0, "<method 'run_backward'>") == "<method 'run_backward'>"
    # the deepest package: torch in a venv inside a checkout named vireid
    assert function_label(f'/home/u/vireid/.venv/{site[5:]}/torch/nn/modules/module.py', 1747,
                          '_call_impl') == 'torch/nn/modules/module.py:1747(_call_impl)'


def test_host_profile_leaves_the_wait_before_each_step_out_of_the_breakdown(monkeypatch):
    import time
    from types import SimpleNamespace

    import torch

    from vireid.utils.benchmark import host_profile

    def slow_sync(device=None):  # a GPU still busy with the last step
        time.sleep(0.02)

    monkeypatch.setattr(torch.cuda, 'synchronize', slow_sync)
    result = host_profile(lambda _: time.sleep(0.002), 3, SimpleNamespace(type='cuda'))
    assert 2 <= result['host_ms'] < 20  # the 20 ms wait is not in it
    names = [name for name, _, _ in result['top']]
    assert not any('slow_sync' in name for name in names)
    # every row is part of the profiled steps
    assert all(ms <= result['profiled_ms'] * 1.05 for _, ms, _ in result['top'])
