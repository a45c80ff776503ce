"""fast_path: the *_packed configs' data path and speed options, derived from any config."""
import argparse
import shutil
import sys
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from vireid.utils.fast_path import (train_image_size, use_fast_path, use_gpu_speed_options,
                                    use_image_pack)
from vireid.utils.launch import apply_common_args

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
import pack_images as pack_tool  # noqa: E402

# the hand-written *_packed configs' base variables, which the derived config has no need of
PACKED_BASE_VARIABLES = {'packed_pipeline', 'batch_augments'}


def config(name: str) -> Config:
    return Config.fromfile(str(REPO / 'configs' / f'{name}.py'))


@pytest.mark.parametrize('name, gpu', [
    ('agw/agw_r50_sysu', True), ('mclnet/mclnet_r50_sysu', True),
    ('fmcnet/fmcnet_r50_sysu', True), ('agw/agw_r18_synthetic', False)])
def test_a_plain_config_becomes_its_hand_written_packed_config(name, gpu):
    derived = config(name)
    use_image_pack(derived)
    if gpu:
        use_gpu_speed_options(derived)
    derived, packed = derived.to_dict(), config(f'{name}_packed').to_dict()
    assert set(packed) - set(derived) <= PACKED_BASE_VARIABLES
    assert {key: packed[key] for key in derived} == derived


@pytest.mark.parametrize('name, like', [
    ('agw/agw_r50_regdb', 'agw/agw_r50_sysu_packed'),
    ('mclnet/mclnet_r50_llcm', 'mclnet/mclnet_r50_sysu_packed'),
    ('fmcnet/fmcnet_r50_regdb', 'fmcnet/fmcnet_r50_sysu_packed')])
def test_regdb_and_llcm_configs_get_the_sysu_packed_path(name, like):
    cfg, sysu = config(name), config(like)
    use_fast_path(cfg)
    for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        assert cfg[key].dataset.pipeline == sysu[key].dataset.pipeline, key
        assert cfg[key].collate_fn == dict(type='default_collate')
    for part in ('data_preprocessor', 'backbone'):
        assert cfg.model[part] == sysu.model[part], part
    assert cfg.model.get('graph_losses') == sysu.model.get('graph_losses')
    assert cfg.model_wrapper_cfg == sysu.model_wrapper_cfg


@pytest.mark.parametrize('transform, message', [
    (dict(type='ColorJitter', brightness=0.2), 'no batch augmentation replaces ColorJitter'),
    (dict(type='RandomFlip', prob=0.5, direction='vertical'),
     r"RandomFlip\(direction='vertical'\) has no image-pack version; only direction='horizontal'"),
    (dict(type='RandomCrop', crop_size=(256, 128), padding=10),
     r'RandomCrop\(crop_size=\(256, 128\)\) must crop back to the resized size \(288, 144\)'),
    # arguments the batch versions do not have must not be dropped without a word
    (dict(type='RandomCrop', crop_size=(288, 144), padding=10, padding_mode='reflect'),
     r"RandomCrop\(padding_mode='reflect'\) has no image-pack version; only "
     r"padding_mode='constant'"),
    (dict(type='RandomGrayscale', prob=0.5, keep_channels=True, color_format='rgb'),
     r"RandomGrayscale\(color_format='rgb'\) has no image-pack version"),
    (dict(type='RandomGrayscale', prob=0.5), r'RandomGrayscale\(keep_channels=False\)'),
    # mmcv's RandomFlip never flips without a prob; BatchRandomFlip's default is 0.5
    (dict(type='RandomFlip'), 'RandomFlip needs prob for its batch version'),
])
def test_a_pipeline_without_a_batch_counterpart_is_refused_naming_the_transform(
        transform, message):
    cfg = config('agw/agw_r50_sysu')
    cfg.train_dataloader.dataset.pipeline.insert(2, transform)
    before = cfg.to_dict()
    with pytest.raises(ValueError, match=rf'train_dataloader.dataset.pipeline: {message}'):
        use_image_pack(cfg)
    assert cfg.to_dict() == before


def test_a_random_test_transform_is_refused_and_changes_nothing():
    cfg = config('agw/agw_r50_sysu')
    cfg.val_dataloader.dataset.pipeline.insert(2, dict(type='RandomFlip', prob=0.5))
    before = cfg.to_dict()
    with pytest.raises(ValueError, match=r"val_dataloader.dataset.pipeline: random transforms "
                                         r"at test time \(\['RandomFlip'\]\)"):
        use_image_pack(cfg)
    assert cfg.to_dict() == before


def test_a_test_loader_resizing_otherwise_than_training_is_refused_and_changes_nothing():
    # the pack is written as the train pipeline resizes: a bilinear test pipeline would
    # look for a pack nobody writes, or read an old one resized otherwise
    cfg = config('agw/agw_r50_sysu')
    cfg.test_dataloader.dataset.pipeline[1] = dict(type='Resize', scale=(144, 288),
                                                   keep_ratio=False)
    before = cfg.to_dict()
    with pytest.raises(ValueError, match=r"test_dataloader.dataset.pipeline: resizes to 288x144 "
                                         r"with \{'interpolation': 'bilinear', 'backend': 'cv2'\}, "
                                         r"train_dataloader to 288x144 with \{'interpolation': "
                                         r"'lanczos', 'backend': 'pillow'\}"):
        use_image_pack(cfg)
    assert cfg.to_dict() == before


def test_pipeline_defaults_that_differ_from_the_batch_versions_are_written_out():
    cfg = config('agw/agw_r50_sysu')
    cfg.train_dataloader.dataset.pipeline[4] = dict(type='RandomErasing')  # all mmpretrain defaults
    cfg.train_dataloader.dataset.pipeline.insert(4, dict(type='RandomGrayscale', keep_channels=True))
    use_image_pack(cfg)
    grey, erasing = cfg.model.data_preprocessor.batch_augments[2:]
    # the same defaults on both sides: nothing written; mmcv's RandomGrayscale prob=0.1 is ours too
    assert grey == dict(type='BatchRandomGrayscale') and erasing == dict(type='BatchRandomErasing')


@pytest.mark.parametrize('pipeline_change, message', [
    ({1: dict(type='Resize', scale=(144, 288), keep_ratio=True)},
     r"Resize\(keep_ratio=True\) has no image-pack version; only keep_ratio=False"),
    ({0: dict(type='LoadReIDImageFromFile', color_type='grayscale')},
     r"LoadReIDImageFromFile\(color_type='grayscale'\) has no image-pack version"),
    ({0: dict(type='LoadReIDImageFromPack', pack_file='p.npy')}, 'already reads an image pack'),
])
def test_loading_and_resizing_the_pack_does_not_reproduce_are_refused(pipeline_change, message):
    cfg = config('agw/agw_r50_sysu')
    for index, transform in pipeline_change.items():
        cfg.train_dataloader.dataset.pipeline[index] = transform
    with pytest.raises(ValueError, match=message):
        use_image_pack(cfg)


def test_the_default_wrapper_keeps_a_top_level_find_unused_parameters():
    cfg = config('agw/agw_r50_sysu')
    cfg.find_unused_parameters = True
    use_gpu_speed_options(cfg)
    assert cfg.model_wrapper_cfg == dict(type='CaptureSafeDistributedDataParallel',
                                         broadcast_buffers=False, find_unused_parameters=True)
    untyped = config('agw/agw_r50_sysu')
    untyped.model_wrapper_cfg = dict(broadcast_buffers=True)
    use_gpu_speed_options(untyped)
    assert untyped.model_wrapper_cfg == dict(type='CaptureSafeDistributedDataParallel',
                                             broadcast_buffers=True)


def test_an_unknown_wrapper_is_refused_before_anything_changes():
    cfg = config('agw/agw_r50_sysu')
    cfg.model_wrapper_cfg = dict(type='MyDDP')
    before = cfg.to_dict()
    with pytest.raises(ValueError, match=r"model_wrapper_cfg type 'MyDDP' has no capture-safe"):
        use_gpu_speed_options(cfg)
    assert cfg.to_dict() == before


@pytest.mark.parametrize('name', ['agw/agw_r50_llcm', 'fmcnet/fmcnet_r50_regdb',
                                  'agw/agw_r18_synthetic', 'agw/agw_r18_synthetic_packed'])
def test_pack_images_writes_the_file_the_fast_path_reads(name):
    cfg = config(name)
    out = pack_tool.default_out(cfg, '/data/root')
    if not name.endswith('_packed'):
        use_image_pack(cfg)
    assert out == f"/data/root/{cfg.train_dataloader.dataset.pipeline[0]['pack_file']}"



def test_the_train_image_size_is_what_the_train_pipeline_resizes_to():
    cfg = config('agw/agw_r50_sysu')
    cfg.train_dataloader.dataset.pipeline[1]['scale'] = (128, 256)  # (w, h)
    cfg.train_dataloader.dataset.pipeline[2]['crop_size'] = (256, 128)
    assert train_image_size(cfg) == (256, 128)
    packed = config('agw/agw_r18_synthetic_packed')  # a pack's size is that of its loader
    assert train_image_size(packed) == tuple(packed.train_dataloader.dataset.pipeline[0]['img_size'])
    # a pipeline the fast path cannot read: the config's own size keys
    cfg.train_dataloader.dataset.pipeline[1]['keep_ratio'] = True
    cfg.img_h, cfg.img_w = 200, 100
    assert train_image_size(cfg) == (200, 100)
    # a pack loader that names no size: the same
    packed.train_dataloader.dataset.pipeline[0].pop('img_size')
    packed.img_h, packed.img_w = 80, 40
    assert train_image_size(packed) == (80, 40)


def test_fast_applies_before_cfg_options():
    cfg = config('mclnet/mclnet_r50_sysu')
    args = argparse.Namespace(fast=True, cfg_options={'model.graph_losses': False},
                              launcher='none', amp=False)
    apply_common_args(cfg, args)
    assert cfg.model.backbone.cuda_graph is True and cfg.model.graph_losses is False
    assert cfg.train_dataloader.dataset.pipeline[0].type == 'LoadReIDImageFromPack'


@pytest.mark.slow
def test_a_fast_regdb_config_trains_and_tests_from_its_pack(synthetic_root, tmp_path,
                                                             shrink_to_pack):
    root = Path(shutil.copytree(synthetic_root / 'RegDB', tmp_path / 'RegDB'))
    plain = REPO / 'configs' / 'agw' / 'agw_r50_regdb.py'
    roots = [f'{k}.dataset.data_root={root}' for k in ('train_dataloader', 'test_dataloader')]
    pack_tool.main([str(plain), '--img-size', '32', '16', '--no-progress', '--cfg-options',
                    *roots])
    cfg = config('agw/agw_r50_regdb')
    use_fast_path(cfg)
    cfg = shrink_to_pack(cfg, root, tmp_path / 'work')
    cfg.model.head.num_classes = 12  # the synthetic RegDB's training identities
    runner = Runner.from_cfg(cfg)
    batch = next(iter(runner.train_dataloader))
    assert tuple(batch['inputs'].shape[1:]) == (3, 32, 16)
    runner.train()
    metrics = runner.test()
    assert 0 <= metrics['mAP'] <= 100
