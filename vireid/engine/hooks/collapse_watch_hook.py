"""Warn when an adversary's accuracy stays pinned at 0 % or 100 %."""
import fnmatch
from typing import Dict, Optional

from vireid.registry import HOOKS
from vireid.utils.host_values import host_values
from .sync_points import SyncPointHook


@HOOKS.register_module()
class CollapseWatchHook(SyncPointHook):
    """Warn once per logged accuracy that sits at 0 % or 100 % for ``patience`` iterations.

    A discriminator (FMCNet) or modality classifier (MCLNet) that always
    wins or always loses no longer gives the feature extractor a useful
    gradient: the min-max game has collapsed, and the final numbers are
    those of the model without it.

    Args:
        keys (dict): fnmatch patterns of the logged accuracies -> the value
            that means 100 %. Default: FMCNet's ``acc_d_*`` (fractions) and
            MCLNet's ``acc_modality`` (percent).
        patience (int): consecutive iterations at one extreme before warning.

    The accuracies are read at the logger's iterations (:mod:`.sync_points`).
    """

    priority = 'LOW'

    def __init__(self, keys: Optional[Dict[str, float]] = None, patience: int = 500) -> None:
        if isinstance(patience, bool) or not isinstance(patience, int) or patience < 1:
            raise ValueError(f'CollapseWatchHook: patience must be a positive int, got {patience!r}')
        super().__init__()
        self.keys = dict(keys) if keys is not None else {'acc_d_*': 1.0, 'acc_modality': 100.0}
        self.patience = patience
        self.streaks: Dict[str, tuple] = {}  # key -> (extreme, count)
        self.warned = set()

    def _full_scale(self, key: str) -> Optional[float]:
        for pattern, full in self.keys.items():
            if fnmatch.fnmatchcase(key, pattern):
                return full
        return None

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        # read at the logger's iterations: a float() here would sync every step
        self.defer(runner, batch_idx, {
            key: value.detach() if hasattr(value, 'detach') else value
            for key, value in (outputs or {}).items()
            if key not in self.warned and self._full_scale(key) is not None})

    def process(self, runner, pending) -> None:
        values = iter(host_values([v for _, watched in pending for v in watched.values()]))
        for iteration, watched in pending:
            for key in watched:
                self.update(runner, iteration, key, float(next(values)))

    def update(self, runner, iteration: int, key: str, value: float) -> None:
        if key in self.warned:
            return
        full = self._full_scale(key)
        extreme = '100 %' if value >= full else '0 %' if value <= 0 else None
        last, count = self.streaks.get(key, (None, 0))
        count = count + 1 if extreme is not None and extreme == last else int(extreme is not None)
        self.streaks[key] = (extreme, count)
        if count >= self.patience:
            self.warned.add(key)
            runner.logger.warning(
                f'iteration {iteration}: {key} has been {extreme} for {count} '
                'iterations: the adversary (discriminator / modality classifier) has '
                'collapsed and no longer trains the feature extractor; consider a lower '
                'adversary learning rate or loss weight')
