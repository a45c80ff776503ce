"""Result dumps written by the real VIReIDMetric for the synthetic test
splits, with random features clustered by identity (a model's stand-in)."""
import numpy as np
import pytest
import torch

from vireid.datasets import LLCMDataset, RegDBDataset, SYSUMM01Dataset
from vireid.evaluation import VIReIDMetric
from vireid.structures import ReIDDataSample

DATASETS = {'sysu': ('SYSU-MM01', SYSUMM01Dataset),
            'regdb': ('RegDB', RegDBDataset),
            'llcm': ('LLCM', LLCMDataset)}


def write_dump(data_root, dataset_cls, path, num_trials=3, seed=0):
    dataset = dataset_cls(data_root=str(data_root), split='test', pipeline=[])
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(1000, 16))
    samples = []
    for index in range(len(dataset)):
        info = dataset.get_data_info(index)
        sample = ReIDDataSample(metainfo=dict(
            pid=info['pid'], camid=info['camid'], modality=info['modality'],
            img_path=info['img_path']))
        sample.pred_feature = torch.tensor(
            centres[info['pid']] + 1.5 * rng.normal(size=16),
            dtype=torch.float32)
        samples.append(sample)
    metric = VIReIDMetric(num_trials=num_trials, device='cpu',
                          dump_path=str(path))
    metric.dataset_meta = dataset.metainfo
    for start in range(0, len(samples), 16):
        metric.process(None, samples[start:start + 16])
    return metric.evaluate(len(samples))


@pytest.fixture(scope='session')
def result_dumps(synthetic_root, tmp_path_factory):
    """``{protocol: (dump path, the metric's output)}``."""
    folder = tmp_path_factory.mktemp('dumps')
    dumps = {}
    for protocol, (name, dataset_cls) in DATASETS.items():
        path = folder / f'{protocol}.npz'
        dumps[protocol] = (path, write_dump(synthetic_root / name,
                                            dataset_cls, path))
    return dumps
