"""vireid's IterBasedTrainLoop: MMEngine's, restarting the dataloader at each epoch end without a pause."""
import mmengine.runner.loops
import pytest
from mmengine.runner import Runner

from vireid.engine import IterBasedTrainLoop


def tiny_epochs_cfg(tiny_cfg, loop_type: str, iters: int):
    cfg = tiny_cfg('agw', iters=iters)
    cfg.train_cfg.type = loop_type
    # 40 images: an epoch of the identity sampler is a few steps
    cfg.train_dataloader.dataset.indices = 40
    return cfg


def refuse_sleep(monkeypatch):
    def sleep(seconds):
        raise AssertionError(f'slept {seconds} s at an epoch end')
    monkeypatch.setattr(mmengine.runner.loops.time, 'sleep', sleep)


def test_the_loop_restarts_each_epoch_with_the_next_sampler_epoch_and_never_sleeps(
        tiny_cfg, monkeypatch):
    refuse_sleep(monkeypatch)
    runner = Runner.from_cfg(tiny_epochs_cfg(tiny_cfg, 'IterBasedTrainLoop', iters=20))
    assert type(runner.train_loop) is IterBasedTrainLoop
    epoch_steps = len(runner.train_loop.dataloader)
    runner.train()
    iterator = runner.train_loop.dataloader_iterator
    assert runner.iter == 20
    # every epoch end restarted the loader, and the sampler drew the next epoch
    assert iterator._epoch == (20 - 1) // epoch_steps
    assert runner.train_loop.dataloader.sampler.epoch == iterator._epoch >= 2


def test_mmengines_loop_would_have_slept(tiny_cfg, monkeypatch):
    refuse_sleep(monkeypatch)
    runner = Runner.from_cfg(tiny_epochs_cfg(tiny_cfg, 'mmengine.IterBasedTrainLoop', iters=12))
    assert type(runner.train_loop) is mmengine.runner.loops.IterBasedTrainLoop
    with pytest.raises(AssertionError, match='slept 2 s'):
        runner.train()
