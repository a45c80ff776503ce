"""VIReIDMetric under a real 2-process gloo group equals one process."""
import json
import os

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from vireid.evaluation import VIReIDMetric
from vireid.structures import INFRARED, VISIBLE, ReIDDataSample

NUM_IDS = 6


def make_samples():
    """An odd number of samples, so the 2-rank split needs one pad sample."""
    rng = np.random.default_rng(11)
    samples = []
    for pid in range(1, NUM_IDS + 1):
        for cam in (1, 2, 3, 4, 5, 6):
            infrared = cam in (3, 6)
            for n in range(1, 3):
                feature = np.eye(8)[pid] + 0.9 * rng.standard_normal(8)
                sample = ReIDDataSample(metainfo=dict(
                    pid=pid, camid=cam, img_path=f'cam{cam}/{pid:04d}/{n}',
                    modality=INFRARED if infrared else VISIBLE))
                sample.pred_feature = torch.tensor(feature,
                                                   dtype=torch.float32)
                samples.append(sample)
    return samples[:-1]


def build_metric(collect_dir=None):
    return VIReIDMetric(protocol='sysu', num_trials=3, num_shots=(1, 2),
                        device='cpu', collect_dir=collect_dir)


def _rank_indices(size, rank, world_size):
    """mmengine's DefaultSampler (round_up): pad by repeating from the
    start, then every world_size-th index from ``rank``."""
    indices = list(range(size))
    total = -(-size // world_size) * world_size
    indices += indices[:total - size]
    return indices[rank:total:world_size]


def _worker(rank, world_size, port, out_dir):
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{port}',
                            rank=rank, world_size=world_size)
    try:
        samples = make_samples()
        metric = build_metric(collect_dir=os.path.join(out_dir, 'collect'))
        mine = [samples[i] for i in _rank_indices(len(samples), rank,
                                                  world_size)]
        for start in range(0, len(mine), 4):
            metric.process(None, mine[start:start + 4])
        metrics = metric.evaluate(len(samples))
        with open(os.path.join(out_dir, f'rank{rank}.json'), 'w') as f:
            json.dump(metrics, f)
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_process_gloo_equals_one_process(tmp_path, free_port):
    samples = make_samples()
    assert len(samples) % 2 == 1
    single = build_metric()
    single.process(None, samples)
    expected = single.evaluate(len(samples))

    mp.spawn(_worker, args=(2, free_port, str(tmp_path)), nprocs=2,
             join=True)
    for rank in range(2):
        with open(tmp_path / f'rank{rank}.json') as f:
            got = json.load(f)
        assert got.keys() == expected.keys()
        for key, value in expected.items():
            assert got[key] == pytest.approx(value), key
    # Sanity: the numbers are not trivially 100 (the check means something).
    assert expected['sysu/all-single/mAP'] < 100
