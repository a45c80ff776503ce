"""MCLNet from its real configs, a few iterations through MMEngine's Runner on
generated SYSU-MM01-layout images."""
import copy
from pathlib import Path

import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapperDict
from mmengine.runner import Runner

import vireid.datasets  # noqa: F401  (registers datasets, sampler, transforms)
import vireid.engine  # noqa: F401
import vireid.models  # noqa: F401
import vireid.models.heads.modality_classifier  # noqa: F401
import vireid.models.losses.mclnet_losses  # noqa: F401
import vireid.models.reid.mclnet  # noqa: F401
from vireid.datasets import SYSUMM01Dataset

CONFIGS = Path(__file__).resolve().parents[3] / 'configs' / 'mclnet'


def tiny_cfg(name, data_root, work_dir):
    """The real config with depth 18, width 16, 64x32 images, 2 ids x 2 instances."""
    cfg = Config.fromfile(str(CONFIGS / name))
    num_classes = SYSUMM01Dataset(data_root, split='train').metainfo['num_classes']
    pipeline = [t for t in copy.deepcopy(cfg.train_dataloader.dataset.pipeline)]
    for t in pipeline:
        if t['type'] == 'Resize':
            t['scale'] = (32, 64)
        if t['type'] == 'RandomCrop':
            t['crop_size'] = (64, 32)
    cfg.merge_from_dict(dict(
        model=dict(
            backbone=dict(depth=18, base_channels=16, init_cfg=None,
                          non_local=dict(layer2=(1, ), layer3=(1, ))),
            head=dict(in_channels=128, num_classes=num_classes)),
        train_dataloader=dict(
            batch_size=8, num_workers=0, persistent_workers=False, pin_memory=False,
            sampler=dict(num_ids=2, num_instances=2, seed=0),
            dataset=dict(data_root=str(data_root), pipeline=pipeline)),
        work_dir=str(work_dir),
        default_hooks=dict(logger=dict(interval=1), checkpoint=dict(interval=1000)),
        env_cfg=dict(dist_cfg=dict(backend='gloo')),
        randomness=dict(seed=0)))
    if cfg.model.modality_classifier is not None:
        cfg.model.modality_classifier.in_channels = 128
    cfg.train_cfg = dict(type='IterBasedTrainLoop', max_iters=3)
    cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    cfg.test_cfg = cfg.test_dataloader = cfg.test_evaluator = None
    return cfg


def snapshot(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def test_mclnet_config_trains_through_the_runner(synthetic_root, tmp_path):
    cfg = tiny_cfg('mclnet_r18_synthetic.py', synthetic_root / 'SYSU-MM01', tmp_path)
    runner = Runner.from_cfg(cfg)
    model = runner.model
    assert model.ica.centers.shape[0] == cfg.model.head.num_classes
    classifier, centers = snapshot(model.modality_classifier), model.ica.centers.detach().clone()
    runner.train()

    assert isinstance(runner.optim_wrapper, OptimWrapperDict)
    adversary = {id(p) for g in runner.optim_wrapper['adversary'].optimizer.param_groups
                 for p in g['params']}
    assert adversary == {id(p) for p in model.modality_classifier.parameters()}
    hub = runner.message_hub
    for key in ('loss', 'loss_id', 'loss_tri', 'loss_confusion', 'loss_ica', 'loss_cca',
                'loss_modality', 'loss_adversary', 'acc_modality'):
        assert hub.get_scalar(f'train/{key}').current() is not None, key
    assert hub.get_info('iter') == 2  # 3 iterations ran (0-based)
    assert all(not torch.equal(classifier[n], p) for n, p in
               model.modality_classifier.named_parameters() if n.endswith('weight'))
    assert not torch.equal(centers, model.ica.centers.detach())


def test_ablation_without_mcm_trains_with_one_optimizer(synthetic_root, tmp_path):
    cfg = tiny_cfg('ablations/agw_re_ica_cca_r50_sysu.py', synthetic_root / 'SYSU-MM01',
                   tmp_path)
    runner = Runner.from_cfg(cfg)
    runner.train()
    assert not isinstance(runner.optim_wrapper, OptimWrapperDict)
    assert runner.model.modality_classifier is None
    hub = runner.message_hub
    assert hub.get_scalar('train/loss_ica').current() is not None
    assert 'train/loss_confusion' not in hub.log_scalars
