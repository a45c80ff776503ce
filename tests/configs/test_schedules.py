from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import scheduler  # noqa: F401  (registers the schedulers)
from mmengine.registry import PARAM_SCHEDULERS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def reference_lr(epoch, base=0.1):
    """The published baseline's adjust_learning_rate, written out."""
    if epoch < 10:
        return base * (epoch + 1) / 10
    if epoch < 20:
        return base
    if epoch < 50:
        return base * 0.1
    return base * 0.01


def lrs_per_epoch(scheduler_cfgs, epochs, base=0.1):
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    schedulers = [PARAM_SCHEDULERS.build(dict(cfg, optimizer=optimizer))
                  for cfg in scheduler_cfgs]
    lrs = []
    for _ in range(epochs):
        lrs.append(optimizer.param_groups[0]['lr'])
        for each in schedulers:
            each.step()
    return lrs


@pytest.mark.parametrize('name, epochs', [('reid_sgd_80e.py', 80), ('reid_sgd_200e.py', 200)])
def test_schedule_matches_the_published_warmup_and_steps(name, epochs):
    cfg = Config.fromfile(str(CONFIGS / '_base_' / 'schedules' / name))
    assert cfg.train_cfg.max_epochs == epochs
    got = lrs_per_epoch(cfg.param_scheduler, epochs)
    assert got == pytest.approx([reference_lr(e) for e in range(epochs)])
