"""MMEngine's iteration-based training loop without its two-second pause at every pass over the data."""
from mmengine.runner import IterBasedTrainLoop as MMEngineIterBasedTrainLoop
from mmengine.runner.loops import _InfiniteDataloaderIterator

from vireid.registry import LOOPS


class RestartingDataloaderIterator(_InfiniteDataloaderIterator):
    """Restarts the dataloader at its end as MMEngine's does (the sampler gets the next epoch),
    without ``time.sleep(2)`` and without the warning each time, and starts its workers at the
    first batch rather than when the loop is built.

    MMEngine sleeps "to prevent a possible deadlock" that its maintainers
    could not reproduce (mmcv#1912). The identity sampler ends an epoch
    every 696 steps on SYSU-MM01 (the pause adds 14% at 20 ms per step) and
    every 65 on RegDB (it more than doubles the run), and a resume, which
    replays the steps already done, pauses once per epoch replayed.
    """

    def __init__(self, started: _InfiniteDataloaderIterator):
        self.__dict__.update(vars(started))
        if getattr(self._dataloader, 'num_workers', 0) > 0:
            # MMEngine started the workers when the loop was built, before the before_train
            # hooks could set them up (EpochSeedHook's worker seeding): start them at the
            # first batch instead; torch keeps persistent workers on the loader itself
            self._iterator = None
            if getattr(self._dataloader, '_iterator', None) is not None:
                self._dataloader._iterator = None

    def __next__(self):
        if self._iterator is None:
            self._iterator = iter(self._dataloader)
        try:
            return next(self._iterator)
        except StopIteration:
            self._epoch += 1
            sampler = getattr(self._dataloader, 'sampler', None)
            if not hasattr(sampler, 'set_epoch'):
                sampler = getattr(getattr(self._dataloader, 'batch_sampler', None), 'sampler', None)
            if hasattr(sampler, 'set_epoch'):
                sampler.set_epoch(self._epoch)
            self._iterator = iter(self._dataloader)
            return next(self._iterator)


@LOOPS.register_module()
class IterBasedTrainLoop(MMEngineIterBasedTrainLoop):
    """``type='IterBasedTrainLoop'`` in vireid's scope: MMEngine's loop, restarting its dataloader
    with :class:`RestartingDataloaderIterator`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.dataloader_iterator = RestartingDataloaderIterator(self.dataloader_iterator)
