"""Exact resume at an epoch boundary, and resume after a SIGKILL in the middle of an epoch."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from vireid.utils import register_all_modules
from vireid.utils.launch import use_amp

REPO = Path(__file__).resolve().parents[2]

# MCLNet (two optimizers, two schedulers), width 16, 64x32 images, 40 training
# images (7 iterations per epoch), every augmentation of the real config on;
# validation after epoch 2 only
TINY_MCLNET = """
_base_ = ['{repo}/configs/mclnet/mclnet_r18_synthetic.py']
data_root = '{data_root}'
train_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(32, 64), keep_ratio=False),
    dict(type='RandomCrop', crop_size=(64, 32), padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomErasing', erase_prob=0.5, mode='const', fill_color=(104, 116, 124)),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(32, 64), keep_ratio=False),
    dict(type='PackReIDInputs'),
]
model = dict(backbone=dict(depth=18, base_channels=16, init_cfg=None),
             head=dict(in_channels=128, num_classes=19),
             modality_classifier=dict(in_channels=128))
train_dataloader = dict(
    batch_size=8, num_workers={workers}, persistent_workers=False,
    sampler=dict(num_ids=2, num_instances=2),
    dataset=dict(data_root=data_root, indices=40, pipeline=train_pipeline))
val_dataloader = dict(batch_size=64, num_workers=0, persistent_workers=False,
                      dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(num_trials=2)
test_evaluator = val_evaluator
train_cfg = dict(max_epochs={epochs}, val_interval=2)
# a slow warm-up of its own: no fp16 overflow in the 14 steps (the float16 test counts them)
lr_schedule = [dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=3)]
param_scheduler = dict(main=lr_schedule, adversary=lr_schedule)
env_cfg = dict(cudnn_benchmark=False, dist_cfg=dict(backend='gloo'))
default_hooks = dict(checkpoint=dict(interval=1, max_keep_ckpts=5), logger=dict(interval=1))
randomness = dict(seed=0, deterministic=True)
"""


def write_config(path, data_root, epochs, workers=0):
    path.write_text(TINY_MCLNET.format(repo=REPO, data_root=data_root, epochs=epochs,
                                       workers=workers))
    return path


def train(config, work_dir, epochs, resume_from=None, drop_hook=None, amp=None):
    register_all_modules()
    cfg = Config.fromfile(str(config))
    if amp:
        use_amp(cfg, amp)
    cfg.work_dir = str(work_dir)
    cfg.train_cfg.max_epochs = epochs
    if resume_from:
        cfg.resume, cfg.load_from = True, str(resume_from)
    if drop_hook:
        cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != drop_hook]
    runner = Runner.from_cfg(cfg)
    runner.train()
    metrics = {k: v.current() for k, v in runner.message_hub.log_scalars.items()
               if k.startswith('val/') and not k.endswith('time')}
    return runner.model.state_dict(), metrics


def differing(state_a, state_b):
    assert state_a.keys() == state_b.keys()
    return [k for k in state_a if not torch.equal(state_a[k], state_b[k])]


def straight_and_resumed(config, tmp_path, **kwargs):
    """Two epochs straight, and one epoch then a resume for the second: their weights and metrics."""
    straight = train(config, tmp_path / 'straight', 2, **kwargs)
    train(config, tmp_path / 'stopped', 1, **kwargs)
    resumed = train(config, tmp_path / 'resumed', 2,
                    resume_from=tmp_path / 'stopped' / 'epoch_1.pth', **kwargs)
    return straight, resumed


@pytest.mark.slow  # three short runs: 15 s on two idle cores
@pytest.mark.parametrize('workers', [0, 2])
def test_resume_at_epoch_boundary_repeats_the_uninterrupted_run(synthetic_root, tmp_path, workers):
    config = write_config(tmp_path / 'tiny.py', synthetic_root / 'SYSU-MM01', 2, workers)
    (straight, straight_metrics), (resumed, resumed_metrics) = straight_and_resumed(
        config, tmp_path)

    assert differing(straight, resumed) == []
    assert 'val/mAP' in straight_metrics and resumed_metrics == straight_metrics


@pytest.mark.slow
def test_without_epoch_seeding_the_resumed_run_differs(synthetic_root, tmp_path):
    """The control: MMEngine's resume alone restarts the random streams at the seed."""
    config = write_config(tmp_path / 'tiny.py', synthetic_root / 'SYSU-MM01', 2)
    (straight, _), (resumed, _) = straight_and_resumed(config, tmp_path,
                                                       drop_hook='EpochSeedHook')
    assert differing(straight, resumed)


@pytest.mark.slow
def test_a_float16_run_resumes_with_the_loss_scale_of_each_optimizer(synthetic_root, tmp_path):
    config = write_config(tmp_path / 'tiny.py', synthetic_root / 'SYSU-MM01', 2)
    (straight, _), (resumed, _) = straight_and_resumed(config, tmp_path, amp='float16')

    def loss_scales(run):
        optimizers = torch.load(tmp_path / run / 'epoch_2.pth', weights_only=False)['optimizer']
        return {key: state['loss_scale'] for key, state in optimizers.items()}

    straight_scales = loss_scales('straight')
    assert straight_scales.keys() == {'main', 'adversary'}
    # 14 steps: a scale restarted at the resume would count at most the second epoch's 7
    assert all(s['growth_tracker'] > 7 for s in straight_scales.values()), straight_scales
    assert loss_scales('resumed') == straight_scales
    assert differing(straight, resumed) == []


def wait_for(predicate, timeout, process):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        assert process.poll() is None, 'training exited before it could be killed'
        time.sleep(0.05)
    raise AssertionError('timed out')


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_completes_from_the_last_checkpoint(
        synthetic_root, tmp_path):
    config = write_config(tmp_path / 'tiny.py', synthetic_root / 'SYSU-MM01', 3)
    work_dir = tmp_path / 'work'
    command = [sys.executable, str(REPO / 'tools' / 'train.py'), str(config),
               '--work-dir', str(work_dir)]
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    first_log = tmp_path / 'first.log'
    with open(first_log, 'w') as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        try:
            # past the first checkpoint, in the middle of epoch 2
            wait_for(lambda: 'Epoch(train) [2][3/7]' in first_log.read_text(), 300, process)
        finally:
            process.send_signal(signal.SIGKILL)
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert (work_dir / 'epoch_1.pth').is_file() and not (work_dir / 'epoch_2.pth').exists()
    # what a kill during a save leaves behind: the atomic writer's temporary file
    (work_dir / '.epoch_2.pth.killed.tmp').write_bytes(b'PK\x03\x04 partial')

    resumed = subprocess.run(command + ['--resume'], capture_output=True, text=True, env=env,
                             timeout=600)
    log = resumed.stdout + resumed.stderr
    assert resumed.returncode == 0, log[-3000:]
    assert f"Load checkpoint from {work_dir / 'epoch_1.pth'}" in log
    assert 'resumed epoch: 1, iter: 7' in log
    assert 'Epoch(train) [1]' not in log  # the finished epoch is not trained again
    assert 'Epoch(train) [2][7/7]' in log and 'Epoch(train) [3][7/7]' in log
    assert (work_dir / 'epoch_3.pth').is_file()
    assert (work_dir / 'last_checkpoint').read_text().strip() == str(work_dir / 'epoch_3.pth')
