"""MCLNet's alternating steps under 2-process gloo DDP through tools/dist_train.sh."""
import os
import subprocess
from pathlib import Path

import pytest

from vireid.datasets import SYSUMM01Dataset

ROOT = Path(__file__).resolve().parents[3]

CHILD_CONFIG = """
_base_ = [{base!r}]
model = dict(
    backbone=dict(base_channels=16),
    head=dict(in_channels=128, num_classes={num_classes}),
    modality_classifier=dict(in_channels=128))
_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(32, 64), keep_ratio=False),
    dict(type='RandomCrop', crop_size=(64, 32), padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(
    batch_size=8, num_workers=0, persistent_workers=False,
    sampler=dict(num_ids=2, num_instances=2, seed=0),
    dataset=dict(data_root={data_root!r}, pipeline=_pipeline))
train_cfg = dict(_delete_=True, type='IterBasedTrainLoop', max_iters=3)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(by_epoch=False, interval=3))
"""


@pytest.mark.slow
def test_mclnet_two_process_gloo(synthetic_root, tmp_path, free_port):
    data_root = synthetic_root / 'SYSU-MM01'
    num_classes = SYSUMM01Dataset(str(data_root), split='train').metainfo['num_classes']
    config = tmp_path / 'mclnet_tiny_ddp.py'
    config.write_text(CHILD_CONFIG.format(
        base=str(ROOT / 'configs' / 'mclnet' / 'mclnet_r18_synthetic.py'),
        num_classes=num_classes, data_root=str(data_root)))
    env = dict(os.environ, PORT=str(free_port), CUDA_VISIBLE_DEVICES='',
               OMP_NUM_THREADS='1', PYTHONPATH=str(ROOT))
    result = subprocess.run(
        ['bash', str(ROOT / 'tools' / 'dist_train.sh'), str(config), '2',
         '--work-dir', str(tmp_path / 'work')],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=240)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    # rank 0's log: every iteration logs both steps' terms
    log = next((tmp_path / 'work').glob('*/*.log')).read_text()
    lines = [line for line in log.splitlines() if '(train)' in line and 'loss_' in line]
    assert len(lines) == 3, output[-4000:]
    for key in ('loss_confusion', 'loss_modality', 'acc_modality', 'loss_ica', 'loss_cca',
                'loss_adversary'):
        assert key in lines[-1], lines[-1]
    assert (tmp_path / 'work' / 'iter_3.pth').is_file()
