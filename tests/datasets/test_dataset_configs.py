import os.path as osp

import pytest
from mmengine import Config

from vireid.registry import DATASETS

CONFIG_DIR = osp.join(osp.dirname(__file__), '..', '..', 'configs', '_base_',
                      'datasets')
SYNTHETIC = [('synthetic_sysu', 'sysu', 'SYSUMM01Dataset'),
             ('synthetic_regdb', 'regdb', 'RegDBDataset'),
             ('synthetic_llcm', 'llcm', 'LLCMDataset')]


def load(name):
    return Config.fromfile(osp.join(CONFIG_DIR, f'{name}.py'))


@pytest.mark.parametrize('name, key, dataset_type', SYNTHETIC)
def test_synthetic_configs_build_datasets_on_the_synthetic_tree(
        synthetic_trees, name, key, dataset_type):
    cfg = load(name)
    assert cfg.data_root == f'data/synthetic/{synthetic_trees[key].name}/'
    for loader in ('train_dataloader', 'test_dataloader'):
        dataset_cfg = cfg[loader].dataset
        assert dataset_cfg.data_root == cfg.data_root
        dataset_cfg.data_root = str(synthetic_trees[key])
        dataset = DATASETS.build(dataset_cfg)
        assert type(dataset).__name__ == dataset_type
        assert dataset.metainfo['protocol'] == key
        assert len(dataset) > 0
        labels = {dataset.get_data_info(i)['gt_label']
                  for i in range(len(dataset))}
        if loader == 'train_dataloader':
            assert labels == set(range(dataset.metainfo['num_classes']))
        else:
            assert labels == {-1}


@pytest.mark.parametrize('name, root', [('sysu_mm01', 'data/sysu_mm01/'),
                                        ('regdb', 'data/regdb/'),
                                        ('llcm', 'data/llcm/')])
def test_real_dataset_configs(name, root):
    cfg = load(name)
    train, val, test = (cfg.train_dataloader, cfg.val_dataloader,
                        cfg.test_dataloader)
    assert cfg.data_root == root and train.dataset.data_root == root
    assert train.batch_size == 64
    assert train.sampler == dict(type='CrossModalityIdentitySampler',
                                 num_ids=8, num_instances=4)
    assert train.dataset.split == 'train'
    for loader in (val, test):
        assert loader.batch_size == 128
        assert loader.sampler == dict(type='DefaultSampler', shuffle=False)
        assert loader.dataset.split == 'test'
    for loader in (train, val, test):
        assert loader.num_workers == 4
        assert loader.persistent_workers and loader.pin_memory
    assert cfg.val_evaluator == cfg.test_evaluator == dict(
        type='VIReIDMetric')
    assert (cfg.img_h, cfg.img_w) == (288, 144)
