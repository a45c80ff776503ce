"""Every synthetic config fits the tree the generator makes by default (the README's)."""
from pathlib import Path

import pytest
from mmengine.config import Config
from mmengine.registry import MODELS

from vireid.datasets.synthetic.generator import DEFAULT_NUM_IDS
from vireid.datasets.synthetic.layouts import split_sysu_ids
from vireid.engine.hooks.identity_count_hook import classifier_size
from vireid.utils import register_all_modules

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
SYNTHETIC = sorted(str(p.relative_to(CONFIGS)) for p in CONFIGS.glob('*/*_synthetic*.py'))


def test_each_method_has_a_synthetic_config():
    assert {name.split('/')[0] for name in SYNTHETIC} == {'agw', 'mclnet', 'fmcnet'}


@pytest.mark.parametrize('name', SYNTHETIC)
def test_the_classifier_has_one_class_per_train_and_val_id_of_the_default_tree(name):
    register_all_modules()
    train, val, _, _ = split_sysu_ids(DEFAULT_NUM_IDS, seed=0)
    cfg = Config.fromfile(CONFIGS / name)
    assert cfg.train_dataloader.dataset.data_root == 'data/synthetic/SYSU-MM01/'
    assert classifier_size(MODELS.build(cfg.model))[1] == len(train) + len(val)


def test_the_quickstart_makes_the_default_tree():
    script = (CONFIGS.parent / 'tools' / 'quickstart.sh').read_text()
    assert f'NUM_IDS={DEFAULT_NUM_IDS}\n' in script and 'SEED=0\n' in script
