"""vireid's IterBasedTrainLoop: MMEngine's, restarting the dataloader at each epoch end without a pause."""
from pathlib import Path

import mmengine.runner.loops
import pytest
import torch
from mmengine.runner import Runner
from mmengine.runner.loops import _InfiniteDataloaderIterator

from vireid.engine import IterBasedTrainLoop
from vireid.engine.runner.iter_based_train_loop import RestartingDataloaderIterator


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


def test_the_documented_step_recipe_checkpoints_by_steps(tiny_cfg):
    # docs/customize.md: without the checkpoint hook's by_epoch=False, one checkpoint at the end
    cfg = tiny_epochs_cfg(tiny_cfg, 'IterBasedTrainLoop', iters=12)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', by_epoch=False, interval=4)
    cfg.log_processor = dict(by_epoch=False)
    runner = Runner.from_cfg(cfg)
    runner.train()
    saved = sorted(p.name for p in Path(cfg.work_dir).glob('*.pth'))
    assert saved == ['iter_12.pth', 'iter_4.pth', 'iter_8.pth']


class EpochRecordingSampler(torch.utils.data.Sampler):
    def __init__(self, size):
        self.size, self.epochs = size, []

    def __iter__(self):
        return iter(range(self.size))

    def __len__(self):
        return self.size

    def set_epoch(self, epoch):
        self.epochs.append(epoch)


def test_a_loader_built_from_a_batch_sampler_gets_the_next_epoch_through_it():
    # a DataLoader given a batch_sampler has a plain SequentialSampler as .sampler
    sampler = EpochRecordingSampler(4)
    loader = torch.utils.data.DataLoader(
        list(range(4)), batch_sampler=torch.utils.data.BatchSampler(sampler, 2, drop_last=False))
    iterator = RestartingDataloaderIterator(_InfiniteDataloaderIterator(loader))
    batches = [next(iterator).tolist() for _ in range(5)]
    assert batches == [[0, 1], [2, 3], [0, 1], [2, 3], [0, 1]]
    assert sampler.epochs == [1, 2]


class WorkerTag(torch.utils.data.Dataset):
    """Each item is the tag its worker's init function set (0: none ran)."""
    tag = 0

    def __len__(self):
        return 4

    def __getitem__(self, index):
        return WorkerTag.tag


def tag_worker(worker_id):
    WorkerTag.tag = 7


@pytest.mark.parametrize('persistent', [False, True])
def test_workers_start_at_the_first_batch_with_what_the_hooks_set_up(persistent):
    # MMEngine's loop starts the loader when it is built; EpochSeedHook sets the workers'
    # init function in before_train, after that
    loader = torch.utils.data.DataLoader(WorkerTag(), batch_size=2, num_workers=1,
                                         persistent_workers=persistent)
    iterator = RestartingDataloaderIterator(_InfiniteDataloaderIterator(loader))
    loader.worker_init_fn = tag_worker
    assert [next(iterator).tolist() for _ in range(3)] == [[7, 7]] * 3
