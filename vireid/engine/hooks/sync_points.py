"""Hooks that read the training step's tensors only where the logger reads them.

A hook that turns a loss into a Python number every iteration makes the host
wait for the GPU every iteration; the host then prepares the next batch
while the GPU idles. The hooks here collect the iteration's tensors and read
them all at once (one host sync) at the logger's iterations, where MMEngine's
``LoggerHook`` needs them anyway, and at the end of every epoch and of
training. What they decide is decided late, never differently: the values,
their order and their iteration numbers are those of every iteration.
"""
from typing import Any, List, Tuple

from mmengine.hooks import Hook, LoggerHook

# without a LoggerHook: read back this often
DEFAULT_INTERVAL = 50


def logger_interval(runner) -> int:
    """The interval of the runner's ``LoggerHook`` (``DEFAULT_INTERVAL`` without one)."""
    for hook in runner.hooks:
        if isinstance(hook, LoggerHook):
            return hook.interval
    return DEFAULT_INTERVAL


class SyncPointHook(Hook):
    """Base of the hooks that defer their reads to the sync points.

    Subclasses call ``self.defer(runner, batch_idx, item)`` in
    ``after_train_iter`` and implement ``process(runner, pending)``, where
    ``pending`` lists ``(iteration, item)`` in order (``iteration`` 1-based,
    as in the log lines).
    """

    def __init__(self) -> None:
        self._pending: List[Tuple[int, Any]] = []
        self._interval = None  # the logger's, looked up once

    def is_sync_point(self, runner, batch_idx: int) -> bool:
        """Whether to read back after this iteration: where the logger logs, and the last one."""
        if self._interval is None:
            self._interval = logger_interval(runner)
        return (self.every_n_inner_iters(batch_idx, self._interval)
                or self.end_of_epoch(runner.train_dataloader, batch_idx)
                or self.is_last_train_iter(runner))

    def defer(self, runner, batch_idx: int, item: Any) -> None:
        self._pending.append((runner.iter + 1, item))
        if self.is_sync_point(runner, batch_idx):
            self.flush(runner)

    def flush(self, runner) -> None:
        pending, self._pending = self._pending, []
        if pending:
            self.process(runner, pending)

    def process(self, runner, pending: List[Tuple[int, Any]]) -> None:
        raise NotImplementedError

    def after_train_epoch(self, runner) -> None:
        self.flush(runner)

    def after_train(self, runner) -> None:
        self.flush(runner)
