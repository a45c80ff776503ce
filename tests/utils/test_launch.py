"""launch: what train.py and test.py do to a config before the Runner is built."""
import re
import runpy
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from vireid.utils.launch import merge_options

REPO = Path(__file__).resolve().parents[2]
CONFIG = REPO / 'configs' / 'agw' / 'agw_r18_synthetic.py'


@pytest.mark.parametrize('option, suggestion', [
    ('train_cfgg.max_epochs', 'train_cfg'),
    ('randomnes.seed', 'randomness'),
    ('load_form', 'load_from'),
])
def test_a_misspelt_top_level_key_is_refused_with_a_suggestion(option, suggestion):
    cfg = Config.fromfile(str(CONFIG))
    before = cfg.to_dict()
    with pytest.raises(ValueError, match=rf"{option}: the config has no key '{option.split('.')[0]}'"
                                         rf".*did you mean '{suggestion}'"):
        merge_options(cfg, {option: 1})
    assert cfg.to_dict() == before


def test_keys_of_the_config_and_of_the_runner_merge():
    cfg = Config.fromfile(str(CONFIG))
    assert not {'compile', 'experiment_name', 'find_unused_parameters'} & set(cfg)
    merge_options(cfg, {'train_cfg.max_epochs': 3, 'compile': True, 'experiment_name': 'x',
                        'find_unused_parameters': True, 'model.backbone.depth': 34})
    assert (cfg.train_cfg.max_epochs, cfg.compile, cfg.experiment_name,
            cfg.find_unused_parameters, cfg.model.backbone.depth) == (3, True, 'x', True, 34)


def test_a_variable_of_the_config_file_is_refused_with_the_keys_it_went_into():
    # max_epochs = 24 went into train_cfg and the schedulers when the file was loaded
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.max_epochs == cfg.train_cfg.max_epochs
    with pytest.raises(ValueError, match=r"^--cfg-options max_epochs: 'max_epochs' is a variable "
                                         r"of the config file, .*would change nothing; set "
                                         r"train_cfg.max_epochs instead \(keys the file computed "
                                         r"from it, such as a schedule's end, keep their values\)$"):
        merge_options(cfg, {'max_epochs': 1})
    # the likeliest try at another resolution: the pipelines hold its value under other names
    with pytest.raises(ValueError, match=r"'img_h' is a variable .*would change nothing; its value "
                                         r"96 is in (\S+ / ){3}\S+ and more: set those instead$"
                       ) as refused:
        merge_options(cfg, {'img_h': 256})
    named = re.search(r'is in (.*) and more', str(refused.value)).group(1).split(' / ')
    assert 'train_dataloader.dataset.pipeline.1.scale' in named  # Resize(scale=(img_w, img_h))
    for path in named:  # each a list of the loaded config holding 96, named by the list
        node = cfg
        for key in path.split('.'):
            node = node[int(key)] if isinstance(node, (list, tuple)) else node[key]
        assert 96 in node
    # a scalar of the same value is a coincidence, not where the variable went: FMCNet's
    # img_w = 64 and its auto_scale_lr.base_batch_size = 64
    fmcnet = Config.fromfile(str(REPO / 'configs/fmcnet/fmcnet_r18_synthetic.py'))
    assert fmcnet.img_w == fmcnet.auto_scale_lr.base_batch_size == 64
    with pytest.raises(ValueError, match=r'its value 64 is in') as refused:
        merge_options(fmcnet, {'img_w': 32})
    assert 'batch_size' not in str(refused.value)
    # a value as common as 0, 1 or True would point anywhere: no such hint
    from vireid.utils.launch import _paths_holding
    assert _paths_holding(cfg, 96, {'train_dataloader'})
    assert all(_paths_holding(cfg, common, {'train_dataloader'}) == [] for common in (0, 1, True))
    # what vireid reads at the top level after loading passes
    merge_options(cfg, {'test_pipeline': [dict(type='LoadReIDImageFromFile')]})
    assert cfg.test_pipeline == [dict(type='LoadReIDImageFromFile')]


def test_a_key_the_runner_reads_only_inside_env_cfg_is_refused_at_the_top():
    # MMEngine reads resource_limit from env_cfg: at the top level it would be ignored
    with pytest.raises(ValueError, match=r"no key 'resource_limit'"):
        merge_options(Config.fromfile(str(CONFIG)), {'resource_limit': 8192})


def test_train_tool_stops_before_writing_anything(monkeypatch, tmp_path):
    work_dir = tmp_path / 'work'
    monkeypatch.setattr(sys, 'argv', ['tools/train.py', str(CONFIG), '--work-dir', str(work_dir),
                                      '--cfg-options', 'train_cfgg.max_epochs=1'])
    with pytest.raises(ValueError, match=r"train_cfgg.max_epochs.*did you mean 'train_cfg'"):
        runpy.run_path(str(REPO / 'tools' / 'train.py'), run_name='__main__')
    assert not work_dir.exists()


def test_a_misspelt_component_key_is_refused_naming_the_option_and_the_class():
    cfg = Config.fromfile(str(CONFIG))
    before = cfg.to_dict()
    with pytest.raises(ValueError, match=r"model.head.num_clases: model.head is a BNNeckHead, "
                                         r"which takes no argument 'num_clases'; did you mean "
                                         r"'num_classes'"):
        merge_options(cfg, {'model.head.num_clases': 3})
    assert cfg.to_dict() == before


def test_new_keys_a_component_or_its_builder_takes_merge():
    cfg = Config.fromfile(str(CONFIG))
    assert 'amsgrad' not in cfg.optim_wrapper.optimizer and 'paramwise_cfg' not in cfg.optim_wrapper
    merge_options(cfg, {'optim_wrapper.optimizer.amsgrad': True,  # AdamW's own argument
                        'optim_wrapper.paramwise_cfg.norm_decay_mult': 0.0,  # its constructor's
                        # CheckpointHook takes **kwargs: nothing to check against
                        'default_hooks.checkpoint.save_best': 'auto'})
    assert cfg.optim_wrapper.optimizer.amsgrad is True
    assert cfg.optim_wrapper.paramwise_cfg.norm_decay_mult == 0.0
    assert cfg.default_hooks.checkpoint.save_best == 'auto'


def test_keys_are_checked_against_the_type_the_options_give():
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.model.neck.type == 'GeM' and 'p' in cfg.model.neck
    # GeM and GeneralizedMeanPooling take clamp; GlobalAveragePooling does not
    merge_options(cfg, {'model.neck.type': 'GeneralizedMeanPooling', 'model.neck.clamp': False})
    assert cfg.model.neck.clamp is False
    # the config's own GeM exponent does not fit the type an option gives
    with pytest.raises(ValueError, match=r"model.neck.p \(in .*agw_r18_synthetic.py\): model.neck "
                                         r"is a GlobalAveragePooling \(by --cfg-options "
                                         r"model.neck.type\), which takes no argument 'p'"):
        merge_options(Config.fromfile(str(CONFIG)), {'model.neck.type': 'GlobalAveragePooling'})


def test_a_misspelt_loop_key_is_refused_against_the_loop_the_runner_would_build():
    def untyped_loops():
        # a user's config may leave the loops' types to the Runner: train_cfg's
        # by_epoch then picks MMEngine's epoch- or iteration-based loop
        cfg = Config.fromfile(str(CONFIG))
        cfg.train_cfg, cfg.val_cfg, cfg.test_cfg = dict(max_epochs=2), dict(), dict()
        return cfg

    with pytest.raises(ValueError, match=r"train_cfg.max_epoch: train_cfg \(no type, by_epoch=True\) is "
                                         r"MMEngine's EpochBasedTrainLoop, "
                                         r"which takes no argument 'max_epoch'; did you mean "
                                         r"'max_epochs'"):
        merge_options(untyped_loops(), {'train_cfg.max_epoch': 3})
    with pytest.raises(ValueError, match=r"train_cfg.max_iter: train_cfg \(no type, by_epoch=False\) is "
                                         r"MMEngine's IterBasedTrainLoop \(by --cfg-options "
                                         r"train_cfg.by_epoch\), .*did you mean 'max_iters'"):
        merge_options(untyped_loops(), {'train_cfg.by_epoch': False, 'train_cfg.max_iter': 3})
    # the file's max_epochs is wrong only because an option turned by_epoch off: it is named
    with pytest.raises(ValueError, match=r"^train_cfg.max_epochs \(in .*\): train_cfg \(no type, "
                                         r"by_epoch=False\) is MMEngine's IterBasedTrainLoop \(by "
                                         r"--cfg-options train_cfg.by_epoch\), which takes no "
                                         r"argument 'max_epochs'; did you mean 'max_iters'\?$"):
        merge_options(untyped_loops(), {'train_cfg.by_epoch': False})
    with pytest.raises(ValueError, match=r"test_cfg.fp61: test_cfg \(no type\) is a TestLoop"):
        merge_options(untyped_loops(), {'test_cfg.fp61': True})
    cfg = untyped_loops()
    merge_options(cfg, {'val_cfg.fp16': True})
    assert cfg.val_cfg.fp16 is True


def test_amp_is_applied_before_the_check_so_its_wrappers_keys_are_taken():
    cfg = Config.fromfile(str(CONFIG))
    # growth_interval belongs to the float16 wrapper that --amp --amp-dtype float16 puts in
    merge_options(cfg, {'optim_wrapper.growth_interval': 500}, amp_dtype='float16')
    assert cfg.optim_wrapper.type == 'ScaledAutocastOptimWrapper'
    assert cfg.optim_wrapper.growth_interval == 500
    plain = Config.fromfile(str(CONFIG))
    with pytest.raises(ValueError, match=r"--cfg-options optim_wrapper.growth_interval: "
                                         r"optim_wrapper is an OptimWrapper, "):
        merge_options(plain, {'optim_wrapper.growth_interval': 500})


def test_a_file_key_refused_by_the_wrapper_amp_chose_blames_amp(tmp_path):
    child = tmp_path / 'child.py'
    child.write_text(f"_base_ = ['{CONFIG}']\noptim_wrapper = dict(growth_interval=500)\n")
    cfg = Config.fromfile(str(child))
    with pytest.raises(ValueError, match=r"optim_wrapper.growth_interval \(in .*child.py\): "
                                         r"optim_wrapper is an AutocastOptimWrapper \(by --amp\), "
                                         r"which takes no argument 'growth_interval'"):
        merge_options(cfg, {}, amp_dtype='bfloat16')
    assert cfg.optim_wrapper.get('type', 'OptimWrapper') == 'OptimWrapper'  # unchanged on error


def test_an_option_refused_by_the_wrapper_amp_chose_blames_amp_too():
    with pytest.raises(ValueError, match=r"^--cfg-options optim_wrapper.loss_scale: optim_wrapper "
                                         r"is an AutocastOptimWrapper \(by --amp\), which takes no "
                                         r"argument 'loss_scale'"):
        merge_options(Config.fromfile(str(CONFIG)), {'optim_wrapper.loss_scale': 512},
                      amp_dtype='bfloat16')
    # an option asking for the plain wrapper that --amp then replaces: --amp chose the type
    with pytest.raises(ValueError, match=r"optim_wrapper is an AutocastOptimWrapper \(by --amp\)"):
        merge_options(Config.fromfile(str(CONFIG)), {'optim_wrapper.type': 'OptimWrapper',
                                                     'optim_wrapper.loss_scale': 512},
                      amp_dtype='bfloat16')
    # an option's key refused by the type another option gave names both
    with pytest.raises(ValueError, match=r"^--cfg-options model.neck.p: model.neck is a "
                                         r"GlobalAveragePooling \(by --cfg-options model.neck.type\)"
                                         r", which takes no argument 'p'"):
        merge_options(Config.fromfile(str(CONFIG)), {'model.neck.type': 'GlobalAveragePooling',
                                                     'model.neck.p': 3})
    # one option giving both: it is named once, as the option at fault
    with pytest.raises(ValueError, match=r"^--cfg-options model.neck: model.neck.p: model.neck "
                                         r"is a GlobalAveragePooling, which takes no argument 'p'"):
        merge_options(Config.fromfile(str(CONFIG)), {'model.neck': dict(
            type='GlobalAveragePooling', p=3)})
