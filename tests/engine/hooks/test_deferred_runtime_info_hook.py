"""DeferredRuntimeInfoHook: the same message-hub history as MMEngine's hook, read at the logger's iterations."""
import math

from mmengine.hooks import Hook
from mmengine.runner import Runner

from vireid.engine import DeferredRuntimeInfoHook


class Probe(Hook):
    """After every iteration: what the message hub holds, and the step's own loss."""

    priority = 'LOWEST'

    def __init__(self):
        self.history_lengths, self.losses, self.logged = [], [], []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        scalars = runner.message_hub.log_scalars
        history = scalars['train/loss'].data[0] if 'train/loss' in scalars else []
        self.history_lengths.append(len(history))
        self.losses.append(float(outputs['loss'].detach()))
        self.history = list(history)


def test_history_matches_every_iteration_and_is_written_only_where_the_logger_reads(tiny_cfg):
    cfg = tiny_cfg('mclnet', iters=7)
    cfg.default_hooks.logger.interval = 3
    runner = Runner.from_cfg(cfg)
    assert any(isinstance(h, DeferredRuntimeInfoHook) for h in runner.hooks)
    probe = Probe()
    runner.register_hook(probe)
    runner.train()

    # iterations 1 and 2 are not logged: nothing read back yet; 3 logs all three
    assert probe.history_lengths[:3] == [0, 0, 3]
    logged = [i + 1 for i, n in enumerate(probe.history_lengths) if n == i + 1]
    assert all(n in (probe.history_lengths[i - 1], i + 1)
               for i, n in enumerate(probe.history_lengths) if i)
    assert 3 in logged and 6 in logged and probe.history_lengths[-1] == 7
    # the values, in order, are the steps' losses
    assert all(math.isclose(a, b, rel_tol=1e-6) for a, b in zip(probe.history, probe.losses))
    # the adversary's terms are there too
    assert len(runner.message_hub.get_scalar('train/loss_modality').data[0]) == 7


def test_an_fp16_run_logs_the_loss_scale_of_each_optimizer(tiny_cfg):
    from vireid.utils.launch import use_amp
    cfg = tiny_cfg('mclnet', iters=3)
    use_amp(cfg, 'float16')
    cfg.optim_wrapper.main.init_scale = 2.0**40  # overflows float32 gradients: backs off
    runner = Runner.from_cfg(cfg)
    runner.train()
    main = runner.message_hub.get_scalar('train/main.loss_scale').data[0]
    adversary = runner.message_hub.get_scalar('train/adversary.loss_scale').data[0]
    assert len(main) == len(adversary) == 3
    # each iteration logs the scale after its step: the huge one halves on each overflow
    assert all(later <= earlier for earlier, later in zip(main, main[1:]))
    assert main[0] <= 2.0**39 and set(adversary) <= {2.0**16, 2.0**15, 2.0**14}
    assert float(runner.optim_wrapper['main'].loss_scale) == main[-1]


def test_a_clipping_autocast_run_logs_each_optimizers_norm_from_the_device(tiny_cfg):
    from vireid.utils.launch import use_amp
    cfg = tiny_cfg('mclnet', iters=3)
    use_amp(cfg, 'bfloat16')
    for key in ('main', 'adversary'):
        cfg.optim_wrapper[key].clip_grad = dict(max_norm=1e-3)  # below any real norm: clips
    runner = Runner.from_cfg(cfg)
    runner.train()
    for key in ('main', 'adversary'):
        norms = runner.message_hub.get_scalar(f'train/{key}.grad_norm').data[0]
        assert len(norms) == 3 and all(n > 1e-3 for n in norms)
        assert norms[-1] == float(runner.optim_wrapper[key].grad_norm)
    # MMEngine's per-step float(norm) under one shared key is not there
    assert 'train/grad_norm' not in runner.message_hub.log_scalars
