from .collapse_watch_hook import CollapseWatchHook
from .deferred_runtime_info_hook import DeferredRuntimeInfoHook
from .epoch_seed_hook import EpochSeedHook, seed_dataloader_worker
from .identity_count_hook import IdentityCountHook
from .nonfinite_loss_hook import NonFiniteLossHook
from .sync_points import SyncPointHook

__all__ = ['CollapseWatchHook', 'DeferredRuntimeInfoHook', 'EpochSeedHook', 'IdentityCountHook',
           'NonFiniteLossHook', 'SyncPointHook', 'seed_dataloader_worker']
