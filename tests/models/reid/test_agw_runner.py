"""The real synthetic AGW config through MMEngine's Runner on generated image files."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

CONFIG = Path(__file__).resolve().parents[3] / 'configs' / 'agw' / 'agw_r18_synthetic.py'


def shrink(cfg, data_root, work_dir):
    """Width-8 model, 64x32 images, one epoch, no worker processes."""
    cfg.work_dir = str(work_dir)
    cfg.model.backbone.base_channels = 8
    cfg.model.head.in_channels = 64
    cfg.model.head.num_classes = 19  # 24 ids: 19 train+val, 5 test
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg[name]
        loader.dataset.data_root = str(data_root)
        loader.num_workers = 0
        loader.persistent_workers = False
        for transform in loader.dataset.pipeline:
            if transform['type'] == 'Resize':
                transform['scale'] = (32, 64)
            if transform['type'] == 'RandomCrop':
                transform['crop_size'] = (64, 32)
    cfg.train_cfg.max_epochs = 1
    cfg.train_cfg.val_interval = 1
    cfg.default_hooks.checkpoint.interval = 1
    return cfg


@pytest.mark.slow
def test_one_epoch_trains_saves_and_evaluates(synthetic_root, tmp_path):
    cfg = shrink(Config.fromfile(CONFIG), synthetic_root / 'SYSU-MM01', tmp_path)
    runner = Runner.from_cfg(cfg)
    before = runner.model.backbone.infrared.conv1.weight.detach().clone()
    runner.train()
    after = runner.model.backbone.infrared.conv1.weight.detach()
    assert not torch.allclose(before, after)  # the optimizer reached the infrared stem
    assert (tmp_path / 'epoch_1.pth').is_file()
    metrics = runner.test()
    assert 0 <= metrics['mAP'] <= 100 and 0 <= metrics['R1'] <= 100
