"""A step skipped on the GPU (``optimizer.found_inf``) must not create optimizer state."""
import torch


def _drop_gradients_of_a_skipped_first_step(optimizer, args, kwargs) -> None:
    """Step pre-hook of :func:`guard_first_step`.

    Fused SGD allocates a parameter's momentum buffer uninitialised on its
    first step and fills it from the gradient; skipped, the buffer would keep
    garbage. Only on a step that creates state is the flag read on the host;
    without gradients the optimizer then leaves those parameters alone.
    """
    found_inf = getattr(optimizer, 'found_inf', None)
    if found_inf is None or getattr(optimizer, '_vireid_all_have_state', False):
        return
    params = [p for group in optimizer.param_groups for p in group['params']]
    stateless = [p for p in params if p not in optimizer.state]
    if not stateless:
        # nothing left to guard: later steps skip the scan (a hook cannot
        # remove itself while the optimizer iterates over its hooks)
        optimizer._vireid_all_have_state = True
        return
    if any(p.grad is not None for p in stateless) and bool(found_inf):
        for param in params:
            param.grad = None


def guard_first_step(optimizer: torch.optim.Optimizer) -> None:
    """Make a step that ``found_inf`` skips create no state (once per optimizer)."""
    if not getattr(optimizer, '_vireid_first_step_hook', False):
        optimizer.register_step_pre_hook(_drop_gradients_of_a_skipped_first_step)
        optimizer._vireid_first_step_hook = True
