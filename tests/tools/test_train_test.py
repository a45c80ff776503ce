"""tools/train.py -> checkpoint -> tools/test.py, and tools/dist_test.sh, as a user runs them."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

from vireid.engine import safe_load
from vireid.evaluation.results_dump import load_reid_results
from vireid.registry import MODELS
from vireid.utils import register_all_modules

ROOT = Path(__file__).resolve().parents[2]

TINY = """
_base_ = [{base!r}]
model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64, num_classes=19))
_train = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(32, 64), keep_ratio=False),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackReIDInputs'),
]
_test = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(32, 64), keep_ratio=False),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(num_ids=2, num_instances=2),
    dataset=dict(data_root={root!r}, pipeline=_train))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root={root!r}, pipeline=_test))
test_dataloader = val_dataloader
test_evaluator = dict(type='VIReIDMetric', num_trials=2)
val_evaluator = test_evaluator
train_cfg = dict(max_epochs=1, val_interval=10)
"""


@pytest.fixture(scope='module')
def trained(synthetic_root, tmp_path_factory, run_command):
    """A tiny AGW trained for one epoch by tools/train.py."""
    work = tmp_path_factory.mktemp('agw_tiny')
    config = work / 'agw_tiny.py'
    config.write_text(TINY.format(base=str(ROOT / 'configs/agw/agw_r18_synthetic.py'),
                                  root=str(synthetic_root / 'SYSU-MM01')))
    run_command([sys.executable, 'tools/train.py', str(config), '--work-dir', str(work)])
    checkpoint = work / 'epoch_1.pth'
    assert checkpoint.is_file()
    return config, checkpoint, work


def test_test_tool_reloads_the_checkpoint_and_prints_the_protocol_table(trained, run_command):
    config, checkpoint, work = trained
    out = run_command([sys.executable, 'tools/test.py', str(config), '--checkpoint',
                       str(checkpoint), '--work-dir', str(work / 'test'),
                       '--out', str(work / 'metrics.json'), '--dump', str(work / 'dump.npz')])
    for mode in ('all-single', 'all-multi', 'indoor-single', 'indoor-multi'):
        assert mode in out
    metrics = json.loads((work / 'metrics.json').read_text())
    assert 0 <= metrics['sysu/all-single/mAP'] <= 100

    # the features test.py computed are those of the trained weights
    register_all_modules()
    DefaultScope.overwrite_default_scope('vireid')
    cfg = Config.fromfile(str(config))
    model = MODELS.build(cfg.model)
    model.load_state_dict(safe_load(str(checkpoint))['state_dict'])
    model.eval()
    loader = Runner.build_dataloader(cfg.test_dataloader)
    features = {}
    with torch.no_grad():
        for batch in loader:
            for sample in model.test_step(batch):
                features[sample.img_path] = sample.pred_feature.numpy()
    dump = load_reid_results(work / 'dump.npz')
    assert len(dump.img_path) == len(features)
    expected = np.stack([features[path] for path in dump.img_path])
    np.testing.assert_allclose(dump.features, expected, atol=1e-5)


def test_missing_checkpoint_is_named(trained):
    config, checkpoint, work = trained
    result = subprocess.run(
        [sys.executable, 'tools/test.py', str(config), str(work / 'nope.pth')], cwd=ROOT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)), capture_output=True, text=True)
    assert result.returncode != 0 and 'nope.pth' in result.stderr


@pytest.mark.slow
def test_dist_test_with_two_processes_matches_one(trained, run_command, free_port):
    config, checkpoint, work = trained
    run_command(['bash', 'tools/dist_test.sh', str(config), str(checkpoint), '2', '--work-dir',
                 str(work / 'dist'), '--out', str(work / 'dist.json'),
                 '--cfg-options', f'test_evaluator.collect_dir={work / "collect"}'],
                env=dict(PORT=str(free_port)))
    run_command([sys.executable, 'tools/test.py', str(config), str(checkpoint), '--work-dir',
                 str(work / 'single'), '--out', str(work / 'single.json')])
    dist = json.loads((work / 'dist.json').read_text())
    single = json.loads((work / 'single.json').read_text())
    assert dist.keys() == single.keys()
    for key in single:
        assert dist[key] == pytest.approx(single[key], abs=1e-6), key
