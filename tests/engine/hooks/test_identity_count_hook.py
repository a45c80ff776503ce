"""IdentityCountHook: a classifier sized for other data is refused before the first step."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from vireid.engine.hooks.identity_count_hook import classifier_size

CONFIGS = Path(__file__).resolve().parents[3] / 'configs'


@pytest.mark.parametrize('num_classes', [320, 5])
def test_a_head_sized_for_other_data_stops_training_before_any_step(tiny_cfg, tmp_path,
                                                                     num_classes):
    cfg = tiny_cfg('agw')
    cfg.model.head.num_classes = num_classes  # the synthetic tree has 19 training identities
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(ValueError, match=rf'^model.head.num_classes={num_classes}, but the '
                                         r'training set \(SYSUMM01Dataset at .*SYSU-MM01\) has 19 '
                                         r'identities: set model.head.num_classes=19 '):
        runner.train()
    assert runner.iter == 0 and not list((tmp_path / 'work').glob('iter_*.pth'))
    assert not runner.optim_wrapper.optimizer.state  # no step was taken


def test_a_head_of_the_training_sets_size_trains(tiny_cfg):
    runner = Runner.from_cfg(tiny_cfg('agw', iters=1))
    runner.train()
    assert runner.iter == 1 and runner.optim_wrapper.optimizer.state


def test_the_hook_is_on_by_default_and_reads_each_models_classifier():
    from mmengine.registry import MODELS

    from vireid.utils import register_all_modules
    register_all_modules()
    runtime = Config.fromfile(CONFIGS / '_base_/default_runtime.py')
    assert dict(type='IdentityCountHook') in runtime.custom_hooks
    fmcnet = Config.fromfile(CONFIGS / 'fmcnet/fmcnet_r18_synthetic.py').model
    assert classifier_size(MODELS.build(fmcnet)) == ('model.num_classes', fmcnet.num_classes)
    agw = Config.fromfile(CONFIGS / 'agw/agw_r18_synthetic.py').model
    assert classifier_size(MODELS.build(agw)) == ('model.head.num_classes', agw.head.num_classes)


def test_a_repeated_training_set_is_checked_and_a_concatenated_one_is_not(tiny_cfg):
    cfg = tiny_cfg('agw', iters=1)
    cfg.model.head.num_classes = 320
    part = cfg.train_dataloader.dataset
    cfg.train_dataloader.dataset = dict(type='RepeatDataset', times=2, dataset=part)
    with pytest.raises(ValueError, match=r'has 19 identities'):
        Runner.from_cfg(cfg).train()
    # a ConcatDataset's metainfo is its first part's, whatever the parts hold
    cfg.train_dataloader.dataset = dict(type='ConcatDataset', datasets=[part, part])
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert runner.iter == 1
