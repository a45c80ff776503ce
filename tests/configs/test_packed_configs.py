"""The *_packed configs: the same experiment as their plain config, fed from an image pack."""
import shutil
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
import pack_images as pack_tool  # noqa: E402

PAIRS = ['agw/agw_r50_sysu', 'mclnet/mclnet_r50_sysu', 'fmcnet/fmcnet_r50_sysu',
         'agw/agw_r18_synthetic']
# pipeline transform -> (batch augmentation, {pipeline argument: augmentation argument})
REPLACES = {
    'RandomCrop': ('BatchRandomCrop', dict(padding='padding')),
    'RandomFlip': ('BatchRandomFlip', dict(prob='prob')),
    'RandomGrayscale': ('BatchRandomGrayscale', dict(prob='prob',
                                                     channel_weights='channel_weights')),
    'RandomErasing': ('BatchRandomErasing', dict(erase_prob='erase_prob',
                                                 fill_color='fill_color')),
}
# MMEngine's DDP wrappers -> the same, built so that CUDA graphs can be captured under them
CAPTURE_SAFE = {
    'MMDistributedDataParallel': 'CaptureSafeDistributedDataParallel',
    'MMSeparateDistributedDataParallel': 'CaptureSafeSeparateDistributedDataParallel',
}
# what the Runner wraps a model in when the config names no wrapper
RUNNER_DEFAULT_WRAPPER = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                              find_unused_parameters=False)


@pytest.mark.parametrize('name', PAIRS)
def test_packed_config_differs_from_its_plain_config_only_in_the_data_path(name):
    plain = Config.fromfile(REPO / 'configs' / f'{name}.py').to_dict()
    packed = Config.fromfile(REPO / 'configs' / f'{name}_packed.py').to_dict()
    augments = packed['model']['data_preprocessor'].pop('batch_augments')
    # the pipeline's random transforms, in order and with their settings
    randoms = [t for t in plain['train_dataloader']['dataset']['pipeline'] if t['type'] in REPLACES]
    assert [a['type'] for a in augments] == [REPLACES[t['type']][0] for t in randoms]
    for transform, augment in zip(randoms, augments):
        for ours, theirs in REPLACES[transform['type']][1].items():
            assert augment[theirs] == transform[ours], (transform, augment)
    # the speed options, which change no arithmetic
    if packed['model']['data_preprocessor'].pop('channels_last', False):
        assert packed['model']['backbone'].pop('cuda_graph') is True
        packed['model'].pop('graph_losses', None)
        wrapper = dict(packed.pop('model_wrapper_cfg'))
        plain_wrapper = dict(plain.pop('model_wrapper_cfg', RUNNER_DEFAULT_WRAPPER))
        assert wrapper.pop('type') == CAPTURE_SAFE[plain_wrapper.pop('type')]
        assert wrapper == plain_wrapper
    assert packed['model'] == plain['model']
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        a, b = dict(plain[key]), dict(packed[key])
        for loader in (a, b):
            loader['dataset'] = {k: v for k, v in loader['dataset'].items() if k != 'pipeline'}
            for option in ('collate_fn', 'num_workers'):
                loader.pop(option, None)
        assert a == b, key
    for key in set(plain) | set(packed):
        if key not in ('model', 'train_dataloader', 'val_dataloader', 'test_dataloader',
                       'packed_pipeline', 'batch_augments'):
            assert plain.get(key) == packed.get(key), key


@pytest.mark.parametrize('name', PAIRS)
def test_the_runner_finds_the_ddp_wrapper_of_a_packed_config(name):
    from mmengine.registry import MODEL_WRAPPERS

    import vireid.models  # noqa: F401  (what building the model imports first)
    wrapper = Config.fromfile(REPO / 'configs' / f'{name}_packed.py').get(
        'model_wrapper_cfg', RUNNER_DEFAULT_WRAPPER)
    # Runner.wrap_model looks the type up in MMEngine's root registry, outside
    # the default scope, and takes issubclass() of what it finds
    assert isinstance(MODEL_WRAPPERS.get(wrapper['type']), type), wrapper['type']


@pytest.mark.slow
def test_packed_agw_trains_and_tests_through_the_runner(synthetic_root, tmp_path, shrink_to_pack):
    root = Path(shutil.copytree(synthetic_root / 'SYSU-MM01', tmp_path / 'SYSU-MM01'))
    config = REPO / 'configs' / 'agw' / 'agw_r50_sysu_packed.py'
    roots = [f'{k}.dataset.data_root={root}' for k in ('train_dataloader', 'test_dataloader')]
    pack_tool.main([str(config), '--img-size', '32', '16', '--no-progress', '--cfg-options',
                    *roots])
    cfg = shrink_to_pack(Config.fromfile(config), root, tmp_path / 'work')
    cfg.model.head.num_classes = 19
    cfg.default_hooks.checkpoint.interval = 1
    runner = Runner.from_cfg(cfg)
    batch = next(iter(runner.train_dataloader))
    assert batch['inputs'].shape == (64, 3, 32, 16)  # stacked by the workers' collate
    assert batch['inputs'].dtype == torch.uint8
    before = runner.model.backbone.infrared.conv1.weight.detach().clone()
    runner.train()
    assert not torch.allclose(before, runner.model.backbone.infrared.conv1.weight)
    metrics = runner.test()
    assert 0 <= metrics['mAP'] <= 100
