"""Tiny AGW / MCLNet runs from the real configs on the session's synthetic SYSU-MM01 tree."""
from pathlib import Path

import pytest
from mmengine.config import Config

from vireid.utils import register_all_modules

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'


def _shrink_pipeline(pipeline):
    for transform in pipeline:
        if transform['type'] == 'Resize':
            transform['scale'] = (32, 64)
        if transform['type'] == 'RandomCrop':
            transform['crop_size'] = (64, 32)


@pytest.fixture
def tiny_cfg(synthetic_root, tmp_path):
    """``tiny_cfg('agw' | 'mclnet', iters)``: width 16, 64x32 images, 2 ids x 2 images, no validation."""
    register_all_modules()

    def build(model: str, iters: int = 2) -> Config:
        name = dict(agw='agw/agw_r18_synthetic.py', mclnet='mclnet/mclnet_r18_synthetic.py')[model]
        cfg = Config.fromfile(str(CONFIGS / name))
        _shrink_pipeline(cfg.train_dataloader.dataset.pipeline)
        cfg.merge_from_dict(dict(
            model=dict(backbone=dict(depth=18, base_channels=16, init_cfg=None),
                       head=dict(in_channels=128, num_classes=19)),
            train_dataloader=dict(
                batch_size=8, num_workers=0, persistent_workers=False,
                sampler=dict(num_ids=2, num_instances=2),
                dataset=dict(data_root=str(synthetic_root / 'SYSU-MM01'))),
            work_dir=str(tmp_path / 'work'),
            # MMEngine names its logger after the experiment (default: config
            # name + timestamp); two runners in one second would share one log file
            experiment_name=f'{model}_{tmp_path.name}',
            default_hooks=dict(logger=dict(interval=1), checkpoint=dict(interval=1000)),
            env_cfg=dict(dist_cfg=dict(backend='gloo')),
            randomness=dict(seed=0)))
        if model == 'mclnet':
            cfg.model.modality_classifier.in_channels = 128
        cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=iters)
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
        cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
        return cfg

    return build
