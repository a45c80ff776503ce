from .collapse_watch_hook import CollapseWatchHook
from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .epoch_seed_hook import EpochSeedHook, seed_dataloader_worker
from .nonfinite_loss_hook import NonFiniteLossHook
from .sync_points import SyncPointHook

__all__ = ['CollapseWatchHook', 'DeferredRuntimeInfoHook', 'EpochSeedHook', 'NonFiniteLossHook',
           'SyncPointHook', 'seed_dataloader_worker']
