"""Reseed every random stream at each epoch start, so a run resumed at an epoch boundary
repeats an uninterrupted one exactly."""
import random
from functools import partial

import numpy as np
import torch
from mmengine.dataset.utils import worker_init_fn as mmengine_worker_init_fn
from mmengine.dist import get_rank
from mmengine.hooks import Hook
from torch.utils.data import get_worker_info

from vireid.registry import HOOKS


def _seed_everything(seed_sequence: np.random.SeedSequence) -> None:
    python_seed, numpy_seed, torch_seed = seed_sequence.generate_state(3)
    random.seed(int(python_seed))
    np.random.seed(int(numpy_seed))
    torch.manual_seed(int(torch_seed))


def seed_dataloader_worker(worker_id: int, rank: int = 0) -> None:
    """Seed a worker's python, numpy and torch streams from (torch's worker seed, rank).

    torch's worker seed is drawn from the main process's torch stream when
    the epoch's iterator starts, so it differs per epoch and worker and
    repeats after a resume; the rank keeps ranks from augmenting alike
    (torch broadcasts the draw of rank 0).
    """
    _seed_everything(np.random.SeedSequence([get_worker_info().seed, rank]))


@HOOKS.register_module()
class EpochSeedHook(Hook):
    """Reseed python, numpy and torch from ``(seed, epoch[, rank])`` before each training epoch.

    MMEngine's resume restores weights, optimizers, schedulers, the message
    hub and the seed, and ``DistSamplerSeedHook`` gives the sampler its
    epoch, but the global random streams (augmentations in the loader,
    dropout, random erasing in the model) restart from the seed: epoch
    ``k`` of a resumed run then draws other numbers than epoch ``k`` of an
    uninterrupted one. Reseeding from the epoch number makes each epoch's
    draws independent of what ran before (validation, checkpointing, a
    restart). MMEngine's default worker seeding (``seed + worker id``) is
    the same every epoch; it is replaced by :func:`seed_dataloader_worker`.

    Exact only with ``persistent_workers=False`` (or ``num_workers=0``):
    persistent workers are seeded once and carry their streams across
    epochs, which a resumed run cannot reproduce.
    """

    priority = 'VERY_HIGH'

    def before_train(self, runner) -> None:
        loader = runner.train_dataloader
        init_fn = loader.worker_init_fn
        is_default = init_fn is None or (isinstance(init_fn, partial)
                                         and init_fn.func is mmengine_worker_init_fn)
        if loader.num_workers > 0 and is_default:
            loader.worker_init_fn = partial(seed_dataloader_worker, rank=get_rank())

    def before_train_epoch(self, runner) -> None:
        entropy = [runner.seed, runner.epoch]
        if runner._randomness_cfg.get('diff_rank_seed', False):
            entropy.append(get_rank())
        _seed_everything(np.random.SeedSequence(entropy))
