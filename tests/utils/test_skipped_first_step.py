import torch
import torch.nn as nn

from vireid.utils.skipped_first_step import guard_first_step


def sgd_with_a_gradient(guarded: bool):
    torch.manual_seed(0)
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, fused=True)
    if guarded:
        guard_first_step(optimizer)
        guard_first_step(optimizer)  # once per optimizer, however often asked
    model(torch.randn(4, 3)).sum().backward()
    return model, optimizer


def test_a_skipped_first_step_creates_no_momentum_buffer():
    model, optimizer = sgd_with_a_gradient(guarded=True)
    before = model.weight.detach().clone()
    optimizer.found_inf = torch.tensor(1.0)
    optimizer.step()
    assert len(optimizer.state) == 0 and torch.equal(model.weight, before)
    assert len(optimizer._optimizer_step_pre_hooks) == 1


def test_without_the_guard_the_skipped_step_leaves_state_its_kernel_never_wrote():
    # the control: fused SGD makes the buffer (uninitialised) though the step is skipped
    _, optimizer = sgd_with_a_gradient(guarded=False)
    optimizer.found_inf = torch.tensor(1.0)
    optimizer.step()
    assert len(optimizer.state) == 2


def test_a_step_that_is_not_skipped_creates_state_and_moves_the_weights():
    model, optimizer = sgd_with_a_gradient(guarded=True)
    before = model.weight.detach().clone()
    optimizer.found_inf = torch.tensor(0.0)
    optimizer.step()
    assert len(optimizer.state) == 2 and not torch.equal(model.weight, before)
