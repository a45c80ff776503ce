from .collapse_watch_hook import CollapseWatchHook
from .epoch_seed_hook import EpochSeedHook, seed_dataloader_worker
from .nonfinite_loss_hook import NonFiniteLossHook

__all__ = ['CollapseWatchHook', 'EpochSeedHook', 'NonFiniteLossHook', 'seed_dataloader_worker']
