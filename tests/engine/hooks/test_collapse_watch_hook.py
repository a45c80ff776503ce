"""CollapseWatchHook warns once when an adversary's accuracy stays at 0 % or 100 %."""
import logging

import pytest
import torch
from mmengine.runner import Runner

from vireid.engine import CollapseWatchHook


class Records(logging.Handler):

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


@pytest.fixture
def runner_and_warnings(tiny_cfg):
    runner = Runner.from_cfg(tiny_cfg('mclnet'))
    records = Records()
    runner.logger.addHandler(records)
    yield runner, records.messages
    runner.logger.removeHandler(records)


def feed(hook, runner, outputs_per_iter):
    for i, outputs in enumerate(outputs_per_iter):
        runner.train_loop._iter = i
        hook.after_train_iter(runner, i, outputs={k: torch.tensor(v) for k, v in outputs.items()})


def test_pinned_discriminator_is_warned_about_once(runner_and_warnings):
    runner, warnings = runner_and_warnings
    hook = CollapseWatchHook(patience=3)
    # FMCNet logs fractions: the real side always right, the fake side moving
    feed(hook, runner, [dict(acc_d_v2i_real=1.0, acc_d_v2i_fake=f, loss_gan=0.7)
                        for f in (0.5, 0.25, 0.75, 0.5, 0.5, 0.0)])
    collapse = [m for m in warnings if 'acc_d_v2i_real' in m]
    assert collapse == [
        'iteration 3: acc_d_v2i_real has been 100 % for 3 iterations: the adversary '
        '(discriminator / modality classifier) has collapsed and no longer trains the '
        'feature extractor; consider a lower adversary learning rate or loss weight']
    assert not [m for m in warnings if 'acc_d_v2i_fake' in m or 'loss_gan' in m]


def test_modality_accuracy_in_percent_and_a_broken_streak(runner_and_warnings):
    runner, warnings = runner_and_warnings
    hook = CollapseWatchHook(patience=3)
    # 0, 0, 50 breaks the streak; 100 (percent) three times is collapse
    feed(hook, runner, [dict(acc_modality=v) for v in (0.0, 0.0, 50.0, 100.0, 100.0, 100.0)])
    assert len(warnings) == 1
    assert warnings[0].startswith('iteration 6: acc_modality has been 100 % for 3 iterations')


def test_switching_extremes_restarts_the_count(runner_and_warnings):
    runner, warnings = runner_and_warnings
    hook = CollapseWatchHook(keys={'acc_x': 1.0}, patience=2)
    feed(hook, runner, [dict(acc_x=v) for v in (0.0, 1.0, 0.0, 1.0)])
    assert warnings == []
    feed(hook, runner, [dict(acc_x=0.0), dict(acc_x=0.0)])
    assert len(warnings) == 1 and 'acc_x has been 0 % for 2 iterations' in warnings[0]


def test_bad_patience_is_named():
    with pytest.raises(ValueError, match='patience must be a positive int, got 0'):
        CollapseWatchHook(patience=0)


def test_accuracies_are_read_at_the_logger_iterations_with_their_own_iteration(
        runner_and_warnings):
    runner, warnings = runner_and_warnings
    next(h for h in runner.hooks if type(h).__name__ == 'LoggerHook').interval = 4
    hook = CollapseWatchHook(patience=3)
    feed(hook, runner, [dict(acc_modality=100.0)] * 3)
    assert warnings == []  # nothing read yet: iteration 3 is not a logger iteration
    runner.train_loop._iter = 3
    hook.after_train_iter(runner, 3, outputs=dict(acc_modality=torch.tensor(100.0)))
    assert len(warnings) == 1
    assert warnings[0].startswith('iteration 3: acc_modality has been 100 % for 3 iterations')
