"""FMCNet configs: every one builds, and each ablation row differs from the full model only as its row says."""
from pathlib import Path

import pytest
from mmengine import Config

import vireid.models.backbones  # noqa: F401
import vireid.models.data_preprocessors  # noqa: F401
import vireid.models.heads.fmc  # noqa: F401
import vireid.models.heads.sff  # noqa: F401
import vireid.models.losses.fmcnet_losses  # noqa: F401
import vireid.models.reid.fmcnet  # noqa: F401
from vireid.engine.optimizers import MultiOptimWrapperConstructor
from vireid.registry import MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'fmcnet'
FULL = CONFIGS / 'fmcnet_r50_sysu.py'
REMOVED = object()

NO_FMC_OPTIM = {'optim_wrapper.adversary': REMOVED, 'param_scheduler.adversary': REMOVED}
# each row: the leaves it changes (a prefix maps to REMOVED when the whole
# subtree is gone)
ROWS = {
    'tab2_base': {
        'model.backbone.specific_tail': False, 'model.with_sfd': False,
        'model.with_fmc': False, 'model.sff': None, 'model.test_feature': 'shared',
        **NO_FMC_OPTIM},
    'tab2_base_sfd': {'model.with_fmc': False, 'model.sff': None,
                      'model.test_feature': 'shared', **NO_FMC_OPTIM},
    'tab2_base_sfd_fmc': {'model.sff': None, 'model.test_feature': 'concat'},
    'tab2_base_sfd_fmc_sff': {},
    'tab3_id': {'model.md_loss.loss_weight_shs': 0.0, 'model.md_loss.lambda_sps': 0.0,
                'model.md_loss.lambda_dc': 0.0},
    'tab3_id_shs': {'model.md_loss.lambda_sps': 0.0, 'model.md_loss.lambda_dc': 0.0},
    'tab3_id_shs_sps': {'model.md_loss.lambda_dc': 0.0},
    'tab3_id_shs_sps_dc': {},
    'tab4_wo_fmc': {'model.with_fmc': False, 'model.sff': None,
                    'model.test_feature': 'shared', **NO_FMC_OPTIM},
    'tab4_fmc_ic_fc': {'model.loss_weights.gan': 0.0},
    'tab4_fmc_gan': {'model.loss_weights.ic': 0.0, 'model.loss_weights.fc': 0.0},
    'tab4_fmc_gan_ic': {'model.loss_weights.fc': 0.0},
    'tab4_fmc_gan_ic_fc': {},
}
TINY_MODEL = dict(backbone=dict(depth=18, base_channels=8, init_cfg=None),
                  feat_dim=64, num_classes=5, generator=dict(hidden_channels=16))


def flatten(value, prefix=''):
    if isinstance(value, dict) and value:
        out = {}
        for key, sub in value.items():
            out.update(flatten(sub, f'{prefix}.{key}' if prefix else str(key)))
        return out
    return {prefix: value}


def diff(cfg: Config, full: Config) -> dict:
    """Leaves of ``cfg`` that differ from ``full``'s, with removed subtrees collapsed."""
    a, b = flatten(cfg.to_dict()), flatten(full.to_dict())
    out = {k: v for k, v in a.items() if k not in b or b[k] != v}
    for key in set(b) - set(a):
        # report a removed subtree once, at the shortest path absent from cfg;
        # a subtree replaced by a leaf (sff=None) is already reported as that leaf
        parts = key.split('.')
        for n in range(1, len(parts) + 1):
            head = '.'.join(parts[:n])
            if head in a:
                break
            if not any(k.startswith(head + '.') for k in a):
                out.setdefault(head, REMOVED)
                break
    return out


@pytest.fixture(scope='module')
def full():
    return Config.fromfile(str(FULL))


def test_every_row_has_a_config_and_nothing_else():
    found = {p.stem.replace('fmcnet_r50_sysu_', '') for p in (CONFIGS / 'ablations').glob('*.py')}
    assert found == set(ROWS)


@pytest.mark.parametrize('row', sorted(ROWS))
def test_ablation_differs_from_full_only_as_its_row_says(row, full):
    cfg = Config.fromfile(str(CONFIGS / 'ablations' / f'fmcnet_r50_sysu_{row}.py'))
    assert diff(cfg, full) == ROWS[row]


def _build(cfg: Config):
    model_cfg = Config(dict(model=cfg.model))
    model_cfg.merge_from_dict({f'model.{k}': v for k, v in flatten(TINY_MODEL).items()})
    model = MODELS.build(model_cfg.model)
    optim_cfg = dict(cfg.optim_wrapper)
    assert optim_cfg.pop('constructor') == 'MultiOptimWrapperConstructor'
    wrappers = MultiOptimWrapperConstructor(optim_cfg)(model)
    assert set(wrappers.keys()) == set(cfg.param_scheduler.keys())
    return model, wrappers


@pytest.mark.parametrize('path', sorted(str(p.relative_to(CONFIGS))
                                        for p in CONFIGS.rglob('*.py')))
def test_config_builds_model_and_optimizers(path):
    cfg = Config.fromfile(str(CONFIGS / path))
    model, wrappers = _build(cfg)
    assert model.with_fmc == ('adversary' in wrappers.keys())
    if model.with_fmc:
        adversary = {id(p) for g in wrappers['adversary'].optimizer.param_groups
                     for p in g['params']}
        discriminators = {id(p) for n in ('discriminator_v2i', 'discriminator_i2v')
                          for p in getattr(model, n).parameters()}
        assert adversary == discriminators
    assert model.with_sff == (cfg.model.sff is not None)


@pytest.mark.parametrize('name,num_classes,dataset', [
    ('fmcnet_r50_sysu.py', 395, 'SYSUMM01Dataset'),
    ('fmcnet_r50_regdb.py', 206, 'RegDBDataset'),
    ('fmcnet_r50_llcm.py', 713, 'LLCMDataset'),
])
def test_dataset_configs_follow_the_paper_schedule(name, num_classes, dataset):
    cfg = Config.fromfile(str(CONFIGS / name))
    assert cfg.model.num_classes == num_classes
    assert cfg.train_dataloader.dataset.type == dataset
    sampler = cfg.train_dataloader.sampler
    assert (sampler.num_ids, sampler.num_instances, cfg.train_dataloader.batch_size) == (4, 8, 64)
    assert cfg.train_cfg.max_epochs == 80
    main = cfg.optim_wrapper.main.optimizer
    assert (main.type, main.lr, main.momentum) == ('SGD', 0.1, 0.9)
    milestones = [s.milestones for s in cfg.param_scheduler.main if s.type == 'MultiStepLR']
    assert milestones == [[20, 50]]
    assert any(s.type == 'LinearLR' for s in cfg.param_scheduler.main)
    transforms = [t.type for t in cfg.train_dataloader.dataset.pipeline]
    assert 'RandomFlip' in transforms and 'RandomErasing' in transforms
    assert 'RandomCrop' not in transforms  # Sec. 4.1: flips and erasing only
    assert cfg.model.backbone.init_cfg.checkpoint == 'torchvision://resnet50'


@pytest.mark.parametrize('name', ['fmcnet_r50_sysu.py', 'fmcnet_r50_regdb.py',
                                  'fmcnet_r50_llcm.py', 'fmcnet_r18_synthetic.py'])
def test_the_fusion_weights_train_at_a_hundredth_of_the_rate_without_decay(name):
    cfg = Config.fromfile(str(CONFIGS / name))
    model, wrappers = _build(cfg)
    main = cfg.optim_wrapper.main.optimizer
    groups = [g for g in wrappers['main'].optimizer.param_groups
              if any(p is model.fusion.fusion_weights for p in g['params'])]
    # a key that matched no parameter name would leave them in a default group
    assert len(groups) == 1 and len(groups[0]['params']) == 1
    assert groups[0]['lr'] == pytest.approx(main.lr * 0.01)
    assert groups[0]['weight_decay'] == 0
