"""A non-finite loss skips its optimizer step; NonFiniteLossHook logs it, or stops the run."""
import math
from pathlib import Path

import pytest
import torch
from mmengine.hooks import Hook
from mmengine.runner import Runner

from vireid.engine import NonFiniteLossHook
from vireid.models.reid.loss_guard import skips_on_device


def set_hook(cfg, **kwargs):
    cfg.custom_hooks = [h for h in cfg.custom_hooks if h['type'] != 'NonFiniteLossHook']
    cfg.custom_hooks.append(dict(type='NonFiniteLossHook', **kwargs))


def built(cfg):
    """The Runner with its weights initialised now (train() then keeps them), so they can be snapshot."""
    runner = Runner.from_cfg(cfg)
    runner.model.init_weights()
    return runner


def state(module):
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def log_text(runner):
    return next(Path(runner.log_dir).glob('*.log')).read_text()


def test_nan_loss_term_skips_the_step_and_the_log_names_term_and_iteration(tiny_cfg):
    cfg = tiny_cfg('agw', iters=2)
    cfg.model.head.loss_triplet.loss_weight = math.nan
    set_hook(cfg, action='skip', max_skips=None)
    runner = built(cfg)
    params = {n: p.detach().clone() for n, p in runner.model.named_parameters()}
    runner.train()

    # no weight moved, not even those reached only by the finite identity loss
    for name, param in runner.model.named_parameters():
        assert torch.equal(params[name], param.detach()), name
    optimizer = runner.optim_wrapper.optimizer
    assert all(not optimizer.state[p] for g in optimizer.param_groups for p in g['params'])
    text = log_text(runner)
    assert 'iteration 1: non-finite loss_tri in the main step, step skipped' in text
    assert 'iteration 2: non-finite loss_tri in the main step, step skipped' in text
    assert 'loss_id' not in text.split('non-finite', 1)[1].split('\n', 1)[0]


def test_finite_run_updates_and_logs_no_skip(tiny_cfg):
    cfg = tiny_cfg('agw', iters=1)
    runner = built(cfg)
    conv = runner.model.backbone.visible.conv1.weight.detach().clone()
    runner.train()
    assert not torch.equal(conv, runner.model.backbone.visible.conv1.weight.detach())
    assert 'non-finite' not in log_text(runner)


def test_stop_raises_naming_the_term_and_iteration(tiny_cfg):
    cfg = tiny_cfg('agw', iters=3)
    cfg.model.head.loss_triplet.loss_weight = math.inf
    set_hook(cfg, action='stop')
    runner = Runner.from_cfg(cfg)
    with pytest.raises(RuntimeError, match=r"iteration 1: non-finite loss_tri in the main step; "
                                           r"training stopped \(NonFiniteLossHook action='stop'\)"):
        runner.train()


def test_consecutive_skips_stop_after_max_skips(tiny_cfg):
    cfg = tiny_cfg('agw', iters=5)
    cfg.model.head.loss_cls.loss_weight = math.nan
    set_hook(cfg, action='skip', max_skips=2)
    runner = Runner.from_cfg(cfg)
    with pytest.raises(RuntimeError, match=r'iteration 2: non-finite loss_id in the main step; '
                                           r'2 consecutive iterations skipped \(max_skips=2\)'):
        runner.train()


def test_nan_in_the_adversary_step_skips_only_the_adversary(tiny_cfg):
    cfg = tiny_cfg('mclnet', iters=1)
    cfg.model.loss_modality.loss_weight = math.nan
    set_hook(cfg, action='skip', max_skips=None)
    runner = built(cfg)
    classifier = state(runner.model.modality_classifier)
    conv = runner.model.backbone.visible.conv1.weight.detach().clone()
    runner.train()

    for name, value in runner.model.modality_classifier.state_dict().items():
        assert torch.equal(classifier[name], value), name
    assert not torch.equal(conv, runner.model.backbone.visible.conv1.weight.detach())
    assert 'iteration 1: non-finite loss_modality in the adversary step, step skipped' \
        in log_text(runner)


def test_nonfinite_input_poisoning_batchnorm_stops_naming_the_buffer(tiny_cfg):
    cfg = tiny_cfg('agw', iters=2)
    set_hook(cfg, action='skip', max_skips=None)
    runner = Runner.from_cfg(cfg)
    # an image with an inf pixel, as a broken decoder or cache could produce
    runner.model.backbone.register_forward_pre_hook(
        lambda module, args: (args[0].index_fill(-1, torch.tensor([0]), math.inf),) + args[1:])
    with pytest.raises(RuntimeError, match=r'iteration 1: non-finite loss.*the buffer '
                                           r'backbone\.\w+\.bn1\.running_mean non-finite.*'
                                           r'no checkpoint of this run was saved yet: restart'):
        runner.train()


def test_divergence_points_at_the_newest_checkpoint_of_the_run(tiny_cfg):
    cfg = tiny_cfg('agw', iters=6)
    cfg.default_hooks.checkpoint = dict(type='CheckpointHook', interval=1, by_epoch=False)
    set_hook(cfg, action='skip', max_skips=2)
    runner = Runner.from_cfg(cfg)
    # a reused work dir: a later checkpoint of another run is no advice for this one
    torch.save(dict(meta=dict(iter=50)), Path(runner.work_dir) / 'iter_50.pth')
    forwards = []

    def nan_from_the_third_step(module, args, out):
        forwards.append(1)
        return out * math.nan if len(forwards) > 2 else out
    runner.model.head.register_forward_hook(nan_from_the_third_step)
    # iterations 3 and 4 are skipped (weights unchanged); the checkpoint after iteration 3 is
    # the newest of this run
    with pytest.raises(RuntimeError, match=r'the run has diverged; resume from (\S+iter_3.pth) '
                                           r'\(tools/train.py CONFIG --resume \1\)'):
        runner.train()


def test_divergence_before_any_checkpoint_of_the_run_says_so(tiny_cfg):
    cfg = tiny_cfg('agw', iters=3)
    set_hook(cfg, action='skip', max_skips=2)
    runner = Runner.from_cfg(cfg)
    torch.save(dict(meta=dict(epoch=4)), Path(runner.work_dir) / 'epoch_4.pth')
    runner.model.head.register_forward_hook(lambda module, args, out: out * math.nan)
    with pytest.raises(RuntimeError, match=r'diverged; no checkpoint of this run was saved yet'):
        runner.train()


@pytest.mark.parametrize('kwargs, message', [
    (dict(action='ignore'), "action must be 'skip' or 'stop', got 'ignore'"),
    (dict(max_skips=0), 'max_skips must be a positive int or None, got 0'),
])
def test_bad_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        NonFiniteLossHook(**kwargs)


class CountIterations(Hook):
    priority = 'LOWEST'
    count = 0

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        self.count += 1


def test_sync_free_skips_are_read_at_the_logger_iteration_and_name_their_own(tiny_cfg):
    # MCLNet's fused SGD skips on the GPU: the hook learns of it at iteration 4
    cfg = tiny_cfg('mclnet', iters=6)
    cfg.default_hooks.logger.interval = 4
    cfg.model.loss_modality.loss_weight = math.nan
    set_hook(cfg, action='stop')
    runner = built(cfg)
    classifier = state(runner.model.modality_classifier)
    counter = CountIterations()
    runner.register_hook(counter)
    with pytest.raises(RuntimeError, match=r'iteration 1: non-finite loss_modality in the '
                                           r'adversary step; training stopped'):
        runner.train()
    assert skips_on_device(runner.optim_wrapper['adversary'])
    assert counter.count == 3  # iterations 1-3 ran on; the fourth raised
    for name, value in runner.model.modality_classifier.state_dict().items():
        assert torch.equal(classifier[name], value), name


def test_agw_with_a_fused_optimizer_skips_on_the_gpu(tiny_cfg):
    cfg = tiny_cfg('agw', iters=2)
    cfg.optim_wrapper.optimizer.fused = True
    cfg.model.head.loss_triplet.loss_weight = math.nan
    set_hook(cfg, action='skip', max_skips=None)
    runner = built(cfg)
    params = {n: p.detach().clone() for n, p in runner.model.named_parameters()}
    runner.train()
    assert skips_on_device(runner.optim_wrapper)
    for name, param in runner.model.named_parameters():
        assert torch.equal(params[name], param.detach()), name
    assert 'iteration 2: non-finite loss_tri in the main step, step skipped' in log_text(runner)
