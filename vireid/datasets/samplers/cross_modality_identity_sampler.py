"""P x K cross-modality identity sampling, per rank."""
import logging
import math
from collections import defaultdict
from typing import Dict, Iterator, List, Optional

import numpy as np
from mmengine.dist import get_dist_info, sync_random_seed
from mmengine.logging import print_log
from torch.utils.data import Sampler

from vireid.registry import DATA_SAMPLERS
from vireid.structures import INFRARED, VISIBLE


@DATA_SAMPLERS.register_module()
class CrossModalityIdentitySampler(Sampler):
    """Yield indices in chunks of ``num_ids * 2 * num_instances``: one chunk
    is one training batch of ``num_ids`` identities, each with
    ``num_instances`` visible and ``num_instances`` infrared images.

    Layout of a chunk: for each identity in turn, its ``num_instances``
    visible indices, then its ``num_instances`` infrared indices, i.e.
    ``[v(id0) x K, i(id0) x K, v(id1) x K, i(id1) x K, ...]``. Identities
    within a chunk are distinct; images of an identity are drawn without
    replacement unless it has fewer than ``num_instances`` in a modality
    (``replace=True``: always with replacement, as the AGW / MCLNet reference
    code draws them, so that a batch may hold one image twice).

    An epoch covers about the larger modality once, as published baselines
    do: ``ceil(max(n_visible, n_infrared) / (num_ids * num_instances))``
    chunks in all, split evenly over ranks (rounded up). Under DDP each rank
    draws from its own random stream, seeded by ``(seed, epoch, rank)``, so
    every GPU sees whole identities of both modalities; ``set_epoch``
    reshuffles. Identities (by ``gt_label``) lacking one modality are left
    out with a warning. Use ``batch_size = num_ids * 2 * num_instances`` in
    the dataloader so that batches and chunks coincide.

    Args:
        dataset: A dataset with ``get_data_info(idx)`` returning
            ``gt_label`` (>= 0) and ``modality`` (0 visible, 1 infrared).
        num_ids (int): Identities per batch (P).
        num_instances (int): Images per identity and modality (K).
        seed (int, optional): Base seed; ``None`` draws one and syncs it
            over ranks (mmengine's ``sync_random_seed``).
        replace (bool): Draw each identity's images with replacement even
            when it has ``num_instances`` or more. Default ``False``.
    """

    def __init__(self,
                 dataset,
                 num_ids: int,
                 num_instances: int,
                 seed: Optional[int] = None,
                 replace: bool = False) -> None:
        for name, value in (('num_ids', num_ids),
                            ('num_instances', num_instances)):
            if isinstance(value, bool) or not isinstance(value, int) \
                    or value < 1:
                raise ValueError(f'CrossModalityIdentitySampler: {name} must '
                                 f'be a positive integer, got {value!r}')
        self.dataset = dataset
        self.num_ids = num_ids
        self.num_instances = num_instances
        if not isinstance(replace, bool):
            raise ValueError('CrossModalityIdentitySampler: replace must be True or False, got '
                             f'{replace!r}')
        self.replace = replace
        self.rank, self.world_size = get_dist_info()
        self.seed = sync_random_seed() if seed is None else int(seed)
        self.epoch = 0

        pools, pids, counts = self._group_by_identity(dataset)
        lacking = sorted(label for label in pools
                         if len(pools[label]) < 2)
        if lacking:
            print_log(
                'CrossModalityIdentitySampler: identities with images of '
                'only one modality are not sampled, pids '
                f'{sorted(pids[label] for label in lacking)}',
                logger='current', level=logging.WARNING)
        self.labels = np.array(
            [label for label in sorted(pools) if len(pools[label]) == 2])
        if num_ids > len(self.labels):
            raise ValueError(
                f'CrossModalityIdentitySampler: num_ids={num_ids} is larger '
                f'than the {len(self.labels)} identities that have both '
                'visible and infrared images')
        self.visible = {
            label: np.array(pools[label][VISIBLE]) for label in self.labels
        }
        self.infrared = {
            label: np.array(pools[label][INFRARED]) for label in self.labels
        }

        per_modality = num_ids * num_instances
        total_chunks = math.ceil(max(counts.values()) / per_modality)
        self.num_chunks = math.ceil(total_chunks / self.world_size)
        self.batch_size = 2 * per_modality

    @staticmethod
    def _group_by_identity(dataset):
        pools: Dict[int, Dict[int, List[int]]] = defaultdict(dict)
        pids: Dict[int, int] = {}
        counts = {VISIBLE: 0, INFRARED: 0}
        for idx in range(len(dataset)):
            info = dataset.get_data_info(idx)
            label, modality = int(info['gt_label']), int(info['modality'])
            if label < 0:
                raise ValueError(
                    'CrossModalityIdentitySampler: sample '
                    f'{info.get("img_path", idx)} has gt_label {label}; '
                    'the sampler needs a training split')
            if modality not in counts:
                raise ValueError(
                    'CrossModalityIdentitySampler: sample '
                    f'{info.get("img_path", idx)} has modality {modality}, '
                    'expected 0 (visible) or 1 (infrared)')
            pools[label].setdefault(modality, []).append(idx)
            pids[label] = info.get('pid', label)
            counts[modality] += 1
        return pools, pids, counts

    def _draw(self, rng: np.random.Generator, pool: np.ndarray) -> np.ndarray:
        replace = self.replace or len(pool) < self.num_instances
        return rng.choice(pool, self.num_instances, replace=replace)

    def __iter__(self) -> Iterator[int]:
        rng = np.random.default_rng([self.seed, self.epoch, self.rank])
        for _ in range(self.num_chunks):
            chunk = []
            for label in rng.choice(self.labels, self.num_ids, replace=False):
                chunk.extend(self._draw(rng, self.visible[label]).tolist())
                chunk.extend(self._draw(rng, self.infrared[label]).tolist())
            yield from chunk

    def __len__(self) -> int:
        return self.num_chunks * self.batch_size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch
