"""Say when a step was skipped for a non-finite loss, and stop when it keeps happening."""
from typing import List, Optional, Tuple

import torch
from mmengine.model import is_model_wrapper

from vireid.models.reid.loss_guard import NONFINITE_LOSS_INFO, nonfinite_terms, resolve_records
from vireid.registry import HOOKS
from ..checkpoint import find_resumable_checkpoint
from .sync_points import SyncPointHook


@HOOKS.register_module()
class NonFiniteLossHook(SyncPointHook):
    """Act on the steps that the models skipped for a non-finite loss.

    The models (``AGW``, ``AlternatingReIDModel`` and their subclasses) skip
    the optimizer step whose total loss is NaN or inf and record the terms at
    fault; this hook logs ``iteration N: non-finite loss_xxx in the main
    step, step skipped`` and decides whether training goes on. The records
    of a sync-free step are flags still on the GPU: the hook reads them at
    the logger's iterations (:mod:`.sync_points`), so it may stop a run a few
    iterations after the fact. The skipped steps themselves changed nothing.

    Args:
        action (str): ``'skip'``: log and go on; ``'stop'``: raise at the
            first non-finite loss.
        max_skips (int, optional): with ``'skip'``, raise after this many
            consecutive iterations with a skipped step (a loss that stays
            NaN means the run has diverged). ``None``: never.
    """

    priority = 'ABOVE_NORMAL'  # before the logger and the checkpoint hooks

    def __init__(self, action: str = 'skip', max_skips: Optional[int] = 10) -> None:
        super().__init__()
        if action not in ('skip', 'stop'):
            raise ValueError(f"NonFiniteLossHook: action must be 'skip' or 'stop', got {action!r}")
        if max_skips is not None and (isinstance(max_skips, bool) or not isinstance(max_skips, int)
                                      or max_skips < 1):
            raise ValueError(f'NonFiniteLossHook: max_skips must be a positive int or None, '
                             f'got {max_skips!r}')
        self.action = action
        self.max_skips = max_skips
        self.consecutive = 0

    def before_train(self, runner) -> None:
        # a record left in a resumed message hub belongs to the old run
        runner.message_hub.pop_info(NONFINITE_LOSS_INFO, None)
        self.consecutive = 0
        self._pending = []

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self.defer(runner, batch_idx, runner.message_hub.pop_info(NONFINITE_LOSS_INFO, None) or [])

    def process(self, runner, pending: List[Tuple[int, list]]) -> None:
        resolved = iter(resolve_records([e for _, events in pending for e in events]))
        for iteration, events in pending:
            skipped = [e for e in (next(resolved) for _ in events) if e['skipped']]
            self.consecutive = self.consecutive + 1 if skipped else 0
            if skipped:
                self.act(runner, iteration, skipped)

    def act(self, runner, iteration: int, skipped: List[dict]) -> None:
        faults = '; '.join(
            f"{', '.join(nonfinite_terms(e['terms'])) or 'loss (on another rank)'} "
            f"in the {e['step']} step" for e in skipped)
        message = f'iteration {iteration}: non-finite {faults}'
        bad_buffer = self._nonfinite_buffer(runner.model)
        if bad_buffer is not None:
            raise RuntimeError(
                f'{message}; the forward pass also made the buffer {bad_buffer} non-finite '
                f'(BatchNorm running statistics never recover): {recovery_advice(runner)}')
        if self.action == 'stop':
            raise RuntimeError(f"{message}; training stopped (NonFiniteLossHook action='stop')")
        if self.max_skips is not None and self.consecutive >= self.max_skips:
            raise RuntimeError(f'{message}; {self.consecutive} consecutive iterations skipped '
                               f'(max_skips={self.max_skips}): the run has diverged; '
                               f'{recovery_advice(runner)}')
        runner.logger.warning(f'{message}, step skipped')

    @staticmethod
    def _nonfinite_buffer(model) -> Optional[str]:
        """The first floating buffer holding NaN or inf (checked only after a skip)."""
        model = model.module if is_model_wrapper(model) else model
        for name, buffer in model.named_buffers():
            if buffer.is_floating_point() and not bool(torch.isfinite(buffer).all()):
                return name
        return None


def recovery_advice(runner) -> str:
    """What to do after a divergence, given this run's checkpoints in its work dir."""
    # a checkpoint saved by this run is numbered at most one past the current epoch / iteration
    checkpoint = find_resumable_checkpoint(
        runner.work_dir, at_most=dict(epoch=runner.epoch + 1, iter=runner.iter + 1))
    if checkpoint is None:
        return ('no checkpoint of this run was saved yet: restart with a lower learning rate, '
                'or check the loss weights and the input images')
    return (f'resume from {checkpoint} (tools/train.py CONFIG --resume {checkpoint}), '
            'with a lower learning rate if it diverges again')
