"""FMCNet from its real configs, a few iterations through MMEngine's Runner on
generated SYSU-MM01-layout images (and a 2-process gloo DDP run)."""
import copy
import os
import subprocess
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

import vireid.datasets  # noqa: F401  (registers datasets, sampler, transforms)
import vireid.engine  # noqa: F401
import vireid.models.backbones  # noqa: F401
import vireid.models.data_preprocessors  # noqa: F401
import vireid.models.heads.fmc  # noqa: F401
import vireid.models.heads.sff  # noqa: F401
import vireid.models.losses.fmcnet_losses  # noqa: F401
import vireid.models.reid.fmcnet  # noqa: F401
from vireid.datasets import SYSUMM01Dataset

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = ROOT / 'configs' / 'fmcnet'


def tiny_overrides(cfg, data_root):
    """Depth 18, width 16, 64x32 images, 2 ids x 2 instances per modality."""
    num_classes = SYSUMM01Dataset(str(data_root), split='train').metainfo['num_classes']
    pipelines = {}
    for name in ('train_dataloader', 'test_dataloader'):
        pipeline = copy.deepcopy(cfg[name].dataset.pipeline)
        for t in pipeline:
            if t['type'] == 'Resize':
                t['scale'] = (32, 64)
            if t['type'] == 'RandomCrop':
                t['crop_size'] = (64, 32)
        pipelines[name] = pipeline
    loader = dict(num_workers=0, persistent_workers=False, pin_memory=False)
    return dict(
        model=dict(backbone=dict(depth=18, base_channels=16, init_cfg=None),
                   feat_dim=128, num_classes=num_classes,
                   generator=dict(hidden_channels=64)),
        train_dataloader=dict(
            batch_size=8, sampler=dict(num_ids=2, num_instances=2, seed=0),
            dataset=dict(data_root=str(data_root), pipeline=pipelines['train_dataloader']),
            **loader),
        test_dataloader=dict(
            batch_size=32,
            dataset=dict(data_root=str(data_root), pipeline=pipelines['test_dataloader']),
            **loader),
        default_hooks=dict(logger=dict(interval=1), checkpoint=dict(interval=1000)),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0))


def tiny_cfg(path, data_root, work_dir, max_iters=3):
    cfg = Config.fromfile(str(path))
    cfg.merge_from_dict(tiny_overrides(cfg, data_root))
    cfg.work_dir = str(work_dir)
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    return cfg


def snapshot(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def changed(module, before):
    return {n for n, p in module.named_parameters() if not torch.equal(p, before[n])}


def test_full_config_trains_and_tests_through_the_runner(synthetic_root, tmp_path):
    cfg = tiny_cfg(CONFIGS / 'fmcnet_r50_sysu.py', synthetic_root / 'SYSU-MM01', tmp_path)
    runner = Runner.from_cfg(cfg)
    before = snapshot(runner.model)
    runner.train()
    moved = changed(runner.model, before)
    for name in ('discriminator_v2i.fc.weight', 'discriminator_i2v.fc.weight',
                 'generator_v2i.layers.0.weight', 'generator_i2v.layers.0.weight',
                 'fusion.fusion_weights', 'backbone.infrared.conv1.weight',
                 'backbone.visible_tail.layer4.0.conv1.weight', 'classifier_sp_i.fc.weight'):
        assert name in moved, name
    scalars = runner.message_hub.log_scalars
    for key in ('loss', 'loss_adversary', 'loss_gan', 'loss_fc', 'loss_ic', 'loss_mc',
                'loss_fid', 'loss_dc', 'loss_sps', 'loss_shs', 'acc_d_v2i_real',
                'acc_d_i2v_fake', 'fusion_w2_ir'):
        assert f'train/{key}' in scalars, key
    # each optimizer has its own learning rate in the logs
    assert 'train/main.lr' in scalars and 'train/adversary.lr' in scalars
    metrics = runner.test()
    assert 0 <= metrics['mAP'] <= 100 and 0 <= metrics['R1'] <= 100


def test_ablation_without_fmc_trains_with_one_optimizer(synthetic_root, tmp_path):
    path = CONFIGS / 'ablations' / 'fmcnet_r50_sysu_tab2_base.py'
    cfg = tiny_cfg(path, synthetic_root / 'SYSU-MM01', tmp_path, max_iters=2)
    runner = Runner.from_cfg(cfg)
    before = snapshot(runner.model)
    runner.train()
    assert 'backbone.shared.layer4.0.conv1.weight' in changed(runner.model, before) or \
        'classifier_sh.fc.weight' in changed(runner.model, before)
    assert not hasattr(runner.model, 'generator_v2i')


@pytest.mark.slow
def test_two_process_gloo_ddp_run(synthetic_root, tmp_path, free_port):
    data_root = synthetic_root / 'SYSU-MM01'
    base = Config.fromfile(str(CONFIGS / 'fmcnet_r18_synthetic.py'))
    overrides = tiny_overrides(base, data_root)
    overrides['train_cfg'] = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=2)
    overrides.update(val_cfg=None, val_dataloader=None, val_evaluator=None,
                     test_cfg=None, test_dataloader=None, test_evaluator=None)
    config = tmp_path / 'tiny_fmcnet.py'
    config.write_text(f"_base_ = [{str(CONFIGS / 'fmcnet_r18_synthetic.py')!r}]\n" +
                      ''.join(f'{k} = {v!r}\n' for k, v in overrides.items()))
    env = dict(os.environ, PORT=str(free_port), OMP_NUM_THREADS='1', CUDA_VISIBLE_DEVICES='')
    result = subprocess.run(
        ['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(config), '2',
         '--work-dir', str(tmp_path / 'work')],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    log = '\n'.join(p.read_text() for p in (tmp_path / 'work').rglob('*.log'))
    # both iterations logged both steps' terms (rank 0 writes the log)
    assert log.count('loss_adversary:') == 2 and log.count('loss_gan:') == 2
    assert "type='MMSeparateDistributedDataParallel'" in log
