"""MCLNet configs: the paper's recipe, and each ablation row differs from
MCLNet only in what its row of Tables 1-3 says."""
from pathlib import Path

import pytest
from mmengine.config import Config

import vireid.models  # noqa: F401  (registers every model)
# until vireid.models' __init__ files import them
import vireid.models.heads.modality_classifier  # noqa: F401
import vireid.models.losses.mclnet_losses  # noqa: F401
import vireid.models.reid.mclnet  # noqa: F401
from vireid.registry import MODELS

CONFIGS = Path(__file__).resolve().parents[2] / 'configs' / 'mclnet'
REFERENCE = 'mclnet_r50_sysu.py'

# what switching a component off changes in the built config
MCM = ('model.modality_classifier', 'optim_wrapper', 'param_scheduler')
ICA = ('model.ica', )
CCA = ('model.cca', 'model.camera_ids')
ERASING = ('train_dataloader.dataset.pipeline', 'train_pipeline')
BASE = ('model.backbone.non_local', 'model.neck', 'model.head.loss_triplet')

# row -> (file, the components it lacks compared with MCLNet)
ROWS = {
    'Base': ('base_r50_sysu.py', MCM + ICA + CCA + ERASING + BASE),
    'Base+MCM': ('base_mcm_r50_sysu.py', ICA + CCA + ERASING + BASE),
    'Base+ICA,CCA': ('base_ica_cca_r50_sysu.py', MCM + ERASING + BASE),
    'AGW': ('agw_r50_sysu.py', MCM + ICA + CCA + ERASING),
    'AGW+MCM': ('agw_mcm_r50_sysu.py', ICA + CCA + ERASING),
    'AGW*': ('agw_re_r50_sysu.py', MCM + ICA + CCA),
    'AGW*+MCM': ('agw_re_mcm_r50_sysu.py', ICA + CCA),
    'AGW*+ICA': ('agw_re_ica_r50_sysu.py', MCM + CCA),
    'AGW*+CCA': ('agw_re_cca_r50_sysu.py', MCM + ICA),
    'AGW*+ICA+CCA': ('agw_re_ica_cca_r50_sysu.py', MCM),
}


def flatten(value, prefix=''):
    """``{'a.b': leaf}``; lists and tuples are leaves."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            out.update(flatten(item, f'{prefix}.{key}' if prefix else key))
        return out
    return {prefix: value}


def load(name):
    return Config.fromfile(str(CONFIGS / name))


@pytest.fixture(scope='module')
def reference():
    return flatten(load(REFERENCE).to_dict())


@pytest.mark.parametrize('row', sorted(ROWS))
def test_ablation_differs_only_in_its_row(row, reference):
    name, lacks = ROWS[row]
    cfg = flatten(load(f'ablations/{name}').to_dict())
    differing = {k for k in set(cfg) | set(reference)
                 if cfg.get(k, '<absent>') != reference.get(k, '<absent>')}
    stray = {k for k in differing if not k.startswith(lacks)}
    assert not stray, f'{row}: unexpected differences {sorted(stray)}'
    for prefix in lacks:
        assert any(k.startswith(prefix) for k in differing), f'{row}: {prefix} unchanged'


@pytest.mark.parametrize('row', sorted(ROWS))
def test_ablation_components(row):
    name, lacks = ROWS[row]
    cfg = load(f'ablations/{name}')
    assert (cfg.model.modality_classifier is None) == (MCM[0] in lacks)
    assert (cfg.model.ica is None) == (ICA[0] in lacks)
    assert (cfg.model.cca is None) == (CCA[0] in lacks)
    erasing = any(t['type'] == 'RandomErasing' for t in cfg.train_dataloader.dataset.pipeline)
    assert erasing == (ERASING[0] not in lacks)
    base = BASE[0] in lacks
    assert cfg.model.neck.type == ('GlobalAveragePooling' if base else 'GeM')
    assert cfg.model.head.loss_triplet.type == ('TripletLoss' if base else 'WRTLoss')
    if MCM[0] in lacks:  # one ordinary optimizer, the main one of MCLNet
        assert cfg.optim_wrapper.type == 'OptimWrapper' and 'constructor' not in cfg.optim_wrapper
        assert isinstance(cfg.param_scheduler, list)
    else:
        assert cfg.optim_wrapper.adversary.modules == ['modality_classifier']


@pytest.mark.parametrize('name', [REFERENCE, 'mclnet_r50_regdb.py', 'mclnet_r50_llcm.py',
                                  'mclnet_r18_synthetic.py']
                         + [f'ablations/{f}' for f, _ in ROWS.values()])
def test_config_builds(name):
    cfg = load(name)
    model = MODELS.build(cfg.model)  # no init_weights: nothing is downloaded
    assert type(model).__name__ == 'MCLNet'
    assert (model.modality_classifier is None) == (cfg.model.modality_classifier is None)
    if model.ica is not None:
        assert model.ica.centers.shape == (cfg.model.head.num_classes, cfg.model.head.in_channels)


def test_mclnet_sysu_is_the_papers_recipe():
    cfg = load(REFERENCE)
    assert cfg.train_cfg.max_epochs == 200
    loader = cfg.train_dataloader
    assert loader.batch_size == 64
    assert (loader.sampler.num_ids, loader.sampler.num_instances) == (8, 4)
    types = [t['type'] for t in loader.dataset.pipeline]
    assert {'RandomCrop', 'RandomFlip', 'RandomErasing'} <= set(types)
    main = cfg.optim_wrapper.main.optimizer
    assert (main.type, main.lr, main.momentum, main.weight_decay) == ('SGD', 0.1, 0.9, 5e-4)
    steps = [s for s in cfg.param_scheduler.main if s.type == 'MultiStepLR'][0]
    assert steps.milestones == [20, 50] and steps.gamma == 0.1
    assert any(s.type == 'LinearLR' for s in cfg.param_scheduler.main)
    for loss in (cfg.model.ica, cfg.model.cca):
        assert (loss.loss_weight, loss.sigma, loss.rho) == (0.0005, 8.0, 4500.0)
    assert cfg.model.camera_ids == (1, 2, 3, 4, 5, 6) and cfg.model.head.num_classes == 395


# the authors' train.py: --p 0.8 --sl 0.1 --sh 0.8 --r1 0.3
AUTHORS_ERASING = dict(erase_prob=0.8, min_area_ratio=0.1, max_area_ratio=0.8)


def assert_erases_as_the_authors(transforms, erasing_type):
    (erasing, ) = [t for t in transforms if t['type'] == erasing_type]
    assert {k: erasing[k] for k in AUTHORS_ERASING} == AUTHORS_ERASING
    assert erasing['aspect_range'] == pytest.approx((0.3, 1 / 0.3))


@pytest.mark.parametrize('name', [REFERENCE, 'mclnet_r50_regdb.py', 'mclnet_r50_llcm.py']
                         + [f'ablations/{f}' for f, lacks in ROWS.values()
                            if ERASING[0] not in lacks])
def test_erasing_is_the_authors(name):
    assert_erases_as_the_authors(load(name).train_dataloader.dataset.pipeline, 'RandomErasing')


def test_the_packed_config_erases_as_the_authors_on_the_gpu():
    augments = load('mclnet_r50_sysu_packed.py').model.data_preprocessor.batch_augments
    assert_erases_as_the_authors(augments, 'BatchRandomErasing')


def test_regdb_has_no_cca_and_llcm_nine_cameras():
    regdb = load('mclnet_r50_regdb.py')
    assert regdb.model.cca is None and regdb.model.ica is not None
    assert regdb.model.head.num_classes == 206
    llcm = load('mclnet_r50_llcm.py')
    assert llcm.model.camera_ids == tuple(range(1, 10)) and llcm.model.head.num_classes == 713
