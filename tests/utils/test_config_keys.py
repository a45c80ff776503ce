"""config_keys: a key no component takes is refused before anything is built, naming path and file."""
import inspect
import re
import runpy
import sys
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import Registry

import vireid.registry
from vireid.datasets.base_vireid_dataset import BaseVIReIDDataset
from vireid.utils import register_all_modules
from vireid.utils.config_keys import _parameter_names, check_config_keys
from vireid.utils.fast_path import use_fast_path
from vireid.utils.launch import use_amp

REPO = Path(__file__).resolve().parents[2]
CONFIGS = sorted(p for p in (REPO / 'configs').rglob('*.py') if '_base_' not in p.parts)
SYNTHETIC = REPO / 'configs' / 'agw' / 'agw_r18_synthetic.py'


def child_config(tmp_path, body: str) -> Config:
    path = tmp_path / 'child.py'
    path.write_text(f"_base_ = ['{SYNTHETIC}']\n{body}\n")
    return Config.fromfile(str(path))


@pytest.mark.parametrize('path', CONFIGS, ids=lambda p: str(p.relative_to(REPO / 'configs')))
def test_every_shipped_config_passes_as_written_fast_and_in_both_amp_dtypes(path):
    variants = [Config.fromfile(str(path)) for _ in range(3)]
    if 'LoadReIDImageFromPack' not in str(variants[0].train_dataloader.dataset.pipeline):
        use_fast_path(variants[0])
    use_amp(variants[1], 'bfloat16')
    use_amp(variants[2], 'float16')
    for cfg in variants:
        check_config_keys(cfg)


def test_a_typo_in_a_config_file_names_its_path_the_file_and_a_suggestion(tmp_path):
    cfg = child_config(tmp_path, "model = dict(head=dict(num_clases=3))")
    with pytest.raises(ValueError, match=r"model.head.num_clases \(in .*child.py\): model.head is a "
                                         r"BNNeckHead, which takes no argument 'num_clases'; did "
                                         r"you mean 'num_classes'\?"):
        check_config_keys(cfg)


def test_dataset_keys_are_followed_through_vireids_kwargs_to_mmengines_base(tmp_path):
    # SYSUMM01Dataset takes **kwargs and passes them to BaseVIReIDDataset, then BaseDataset
    good = child_config(tmp_path, "train_dataloader = dict(dataset=dict(serialize_data=False, "
                                  "lazy_init=True, split='train'))")
    check_config_keys(good)
    bad = child_config(tmp_path, "train_dataloader = dict(dataset=dict(serialize_dta=False))")
    with pytest.raises(ValueError, match=r"train_dataloader.dataset.serialize_dta .*: "
                                         r"train_dataloader.dataset is a SYSUMM01Dataset, .*did you "
                                         r"mean 'serialize_data'"):
        check_config_keys(bad)


def test_an_untyped_dataloader_is_checked_against_torchs_dataloader_and_the_runners_keys(tmp_path):
    check_config_keys(child_config(tmp_path, "train_dataloader = dict(prefetch_factor=4, "
                                             "num_batch_per_epoch=2)"))
    with pytest.raises(ValueError, match=r"train_dataloader \(no type\) is a DataLoader, which "
                                         r"takes no "
                                         r"argument 'batch_sizee'; did you mean 'batch_size'"):
        check_config_keys(child_config(tmp_path, "train_dataloader = dict(batch_sizee=8)"))


def test_a_transform_in_a_pipeline_is_named_by_its_index(tmp_path):
    cfg = Config.fromfile(str(SYNTHETIC))
    index = [t['type'] for t in cfg.train_dataloader.dataset.pipeline].index('RandomFlip')
    cfg.train_dataloader.dataset.pipeline[index]['probb'] = 0.5
    with pytest.raises(ValueError, match=rf"train_dataloader.dataset.pipeline.{index}.probb .*: "
                                         rf".*is a RandomFlip, .*did you mean 'prob'"):
        check_config_keys(cfg)


def test_a_typed_train_loop_with_by_epoch_is_refused_as_the_runner_would():
    cfg = Config.fromfile(str(SYNTHETIC))
    assert cfg.train_cfg.type == 'EpochBasedTrainLoop'
    cfg.train_cfg.by_epoch = False
    with pytest.raises(ValueError, match=r"train_cfg is an EpochBasedTrainLoop, which takes no "
                                         r"argument 'by_epoch'; by_epoch picks the loop only in a "
                                         r"train_cfg without a type: to train by steps, write "
                                         r"train_cfg = dict\(_delete_=True, "
                                         r"type='IterBasedTrainLoop', max_iters=...\) in a config "
                                         r"\(docs/customize.md\)$"):
        check_config_keys(cfg)
    del cfg.train_cfg['type']  # untyped, by_epoch picks the loop: max_epochs is then wrong
    with pytest.raises(ValueError, match=r"train_cfg \(no type, by_epoch=False\) is MMEngine's "
                                         r"IterBasedTrainLoop, which takes no argument 'max_epochs'"):
        check_config_keys(cfg)


def test_kwargs_are_followed_only_up_vireids_own_classes():
    class Base:
        def __init__(self, depth, width=1):
            pass

    class Forwards(Base):
        __module__ = 'vireid.models.example'

        def __init__(self, dropout=0.0, **kwargs):
            super().__init__(**kwargs)

    class Elsewhere(Base):
        __module__ = 'someone.else'

        def __init__(self, dropout=0.0, **kwargs):
            self.extra = kwargs  # where the kwargs go is unknown

    assert _parameter_names(Forwards) == {'dropout', 'depth', 'width'}
    assert _parameter_names(Elsewhere) is None
    assert {'data_root', 'split', 'pipeline', 'serialize_data'} <= _parameter_names(
        BaseVIReIDDataset)


def test_train_tool_refuses_a_config_file_typo_before_making_the_work_dir(monkeypatch, tmp_path):
    child_config(tmp_path, "val_cfg = dict(fp61=True)")
    work_dir = tmp_path / 'work'
    monkeypatch.setattr(sys, 'argv', ['tools/train.py', str(tmp_path / 'child.py'),
                                      '--work-dir', str(work_dir)])
    with pytest.raises(ValueError, match=r"val_cfg.fp61 \(in .*child.py\): val_cfg is a ValLoop, "
                                         r"which takes no argument 'fp61'; did you mean 'fp16'"):
        runpy.run_path(str(REPO / 'tools' / 'train.py'), run_name='__main__')
    assert not work_dir.exists()


def test_every_registered_vireid_class_with_kwargs_passes_them_to_its_base():
    # the assumption that lets check_config_keys follow **kwargs up vireid's classes
    register_all_modules()
    followed = []
    for registry in vars(vireid.registry).values():
        if not isinstance(registry, Registry):
            continue
        for registered in registry.module_dict.values():
            bases = registered.__mro__ if inspect.isclass(registered) else ()
            for cls in bases:
                init = vars(cls).get('__init__')
                if init is None or not cls.__module__.startswith('vireid.'):
                    continue
                if any(p.kind is p.VAR_KEYWORD
                       for p in inspect.signature(init).parameters.values()):
                    followed.append(cls.__name__)
                    assert re.search(r'super\(\).__init__\(.*?\*\*kwargs\)',
                                     inspect.getsource(init), re.DOTALL), cls.__name__
    assert {'BaseVIReIDDataset', 'RegDBDataset', 'AlternatingReIDModel', 'AutocastOptimWrapper',
            'ScaledAutocastOptimWrapper'} <= set(followed)


def test_keys_their_builders_read_are_taken_where_those_builders_read_them(tmp_path):
    # Runner.register_hook pops priority, Visualizer a backend's name, build_norm_layer
    # requires_grad, initialize an init_cfg's override and the override's module name
    cfg = child_config(tmp_path, """
custom_hooks = [dict(type='NonFiniteLossHook', priority='VERY_HIGH')]
default_hooks = dict(logger=dict(priority='BELOW_NORMAL'))
visualizer = dict(vis_backends=[dict(type='LocalVisBackend', name='local')])
model = dict(backbone=dict(
    norm_cfg=dict(type='BN', requires_grad=False),
    init_cfg=[dict(type='Pretrained', checkpoint='a.pth',
                   override=dict(type='Pretrained', name='stem', checkpoint='b.pth'))]))
# per optimizer key, as FMCNet and MCLNet write their schedules (a scheduler with
# its own signature: CosineAnnealingLR takes **kwargs and is not checked)
param_scheduler = dict(_delete_=True, main=[dict(
    type='CosineAnnealingParamScheduler', param_name='lr', T_max=3, convert_to_iter_based=True)])
# helper variables, and a single backend dict, are read where their builders read them
backends = [dict(type='LocalVisBackend', name='local')]
bn = dict(type='BN', requires_grad=False)
""")
    check_config_keys(cfg)
    cfg.visualizer.vis_backends = dict(type='LocalVisBackend', name='local')
    check_config_keys(cfg)


@pytest.mark.parametrize('body, path, key', [
    ("model = dict(head=dict(priority='LOW'))", 'model.head', 'priority'),
    ("model = dict(head=dict(requires_grad=False))", 'model.head', 'requires_grad'),
    ("model = dict(head=dict(name='x'))", 'model.head', 'name'),
    ("custom_hooks = [dict(type='NonFiniteLossHook', convert_to_iter_based=True)]",
     'custom_hooks.0', 'convert_to_iter_based'),
    # a dataloader's own keys, read by the Runner, belong to dataloaders only
    ("model = dict(head=dict(num_batch_per_epoch=2))", 'model.head', 'num_batch_per_epoch'),
    # the per-key optimizer wrappers' modules, only there
    ("model = dict(head=dict(modules=['x']))", 'model.head', 'modules'),
    ("optim_wrapper = dict(modules=['x'])", 'optim_wrapper', 'modules'),
    ("optim_wrapper = dict(optimizer=dict(modules=['x']))", 'optim_wrapper.optimizer', 'modules'),
])
def test_a_builders_key_elsewhere_is_refused(tmp_path, body, path, key):
    with pytest.raises(ValueError, match=rf"{path}.{key} .*, which takes no argument '{key}'"):
        check_config_keys(child_config(tmp_path, body))


def test_a_builders_key_is_suggested_only_where_it_is_read(tmp_path):
    with pytest.raises(ValueError, match=r"custom_hooks.0 is a NonFiniteLossHook, which takes no "
                                         r"argument 'priorty'; did you mean 'priority'\?"):
        check_config_keys(child_config(
            tmp_path, "custom_hooks = [dict(type='NonFiniteLossHook', priorty='LOW')]"))
    with pytest.raises(ValueError, match=r"argument 'priorty'$"):
        check_config_keys(child_config(tmp_path, "model = dict(head=dict(priorty='LOW'))"))


def test_a_class_named_by_an_acronym_gets_the_article_it_is_read_with(tmp_path):
    with pytest.raises(ValueError, match=r"optim_wrapper.optimizer is an SGD, which takes no "
                                         r"argument 'lrr'; did you mean 'lr'\?"):
        check_config_keys(child_config(
            tmp_path, "optim_wrapper = dict(optimizer=dict(type='SGD', lr=0.1, lrr=0.1))"))


def test_mmengines_lr_schedulers_are_checked_against_the_scheduler_their_mixin_wraps(tmp_path):
    # LinearLR(LRSchedulerMixin, LinearParamScheduler): the mixin passes **kwargs on
    with pytest.raises(ValueError, match=r"param_scheduler.0.start_factr .*: param_scheduler.0 is a "
                                         r"LinearLR, which takes no argument 'start_factr'; did "
                                         r"you mean 'start_factor'\?"):
        check_config_keys(child_config(tmp_path, "param_scheduler = [dict(type='LinearLR', "
                                                 "start_factr=0.1, end=2)]"))
    check_config_keys(child_config(tmp_path, "param_scheduler = [dict(type='LinearLR', "
                                             "start_factor=0.1, end=2, by_epoch=False)]"))
    # the mixin gives the parameter scheduler its param_name itself
    with pytest.raises(ValueError, match=r"param_scheduler.0 is a LinearLR, which takes no "
                                         r"argument 'param_name'"):
        check_config_keys(child_config(tmp_path, "param_scheduler = [dict(type='LinearLR', "
                                                 "param_name='lr', end=2)]"))


def test_checkpoint_hook_keys_are_checked_against_the_save_they_would_reach(tmp_path):
    from mmengine.hooks import CheckpointHook
    # unchecked, the typo builds and fails only at the first save, an epoch into training
    CheckpointHook(intervl=1)
    with pytest.raises(ValueError, match=r"default_hooks.checkpoint is a CheckpointHook, which "
                                         r"takes no argument 'intervl'; did you mean 'interval'\?"):
        check_config_keys(child_config(tmp_path, 'default_hooks = dict(checkpoint=dict('
                                                 'intervl=1))'))
    # Runner.save_checkpoint's arguments are all the hook's own: none is left to pass
    with pytest.raises(ValueError, match=r"takes no argument 'meta'"):
        check_config_keys(child_config(tmp_path, 'default_hooks = dict(checkpoint=dict('
                                                 'meta=dict()))'))
    check_config_keys(child_config(tmp_path, "default_hooks = dict(checkpoint=dict("
                                             "interval=2, save_best='auto', max_keep_ckpts=1))"))


def test_a_class_without_its_own_init_takes_no_keys(tmp_path):
    with pytest.raises(ValueError, match=r"custom_hooks.0 is a DistSamplerSeedHook, which takes no "
                                         r"argument 'interval'"):
        check_config_keys(child_config(
            tmp_path, "custom_hooks = [dict(type='DistSamplerSeedHook', interval=1)]"))


@pytest.mark.parametrize('body, message', [
    ("randomness = dict(sed=0)", r"randomness.sed \(in .*\): randomness \(no type\) is read by "
                                 r"MMEngine's Runner.set_randomness, which takes no argument "
                                 r"'sed'; did you mean 'seed'\?"),
    # a key setup_env does not read is ignored there: the run would keep cudnn's default
    ("env_cfg = dict(cudnn_benchmrk=True)", r"env_cfg \(no type\) is read by MMEngine's "
                                            r"Runner.setup_env, which takes no argument "
                                            r"'cudnn_benchmrk'; did you mean 'cudnn_benchmark'\?"),
])
def test_the_runners_untyped_randomness_and_env_cfg_are_checked(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        check_config_keys(child_config(tmp_path, body))
    check_config_keys(child_config(tmp_path, "randomness = dict(seed=1, deterministic=True, "
                                             "diff_rank_seed=True)\nenv_cfg = dict(cudnn_benchmark="
                                             "True, resource_limit=8192)"))


def test_the_env_cfg_keys_are_those_mmengines_setup_env_reads():
    from mmengine.runner import Runner

    from vireid.utils.config_keys import runner_setup_env
    read = set(re.findall(r"env_cfg\.get\('(\w+)'", inspect.getsource(Runner.setup_env)))
    assert read and set(inspect.signature(runner_setup_env).parameters) == read
