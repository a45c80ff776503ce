"""Skip an optimizer step whose loss is not finite, and record which terms were.

One NaN step is enough to ruin a run: the optimizer writes NaN into every
weight it touches, and its momentum carries the NaN on. The check costs one
host sync per step (MMEngine's logging syncs every iteration anyway). The
policy (log, stop after repeated skips) is ``NonFiniteLossHook``'s, which
reads what is recorded here from the message hub.
"""
from typing import Dict, List

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

# message hub runtime-info key: a list of dict(step=..., terms=[...]) per iteration
NONFINITE_LOSS_INFO = 'nonfinite_loss'


def nonfinite_terms(log_vars: Dict[str, torch.Tensor]) -> List[str]:
    """Names of the summed terms (``parse_losses``'s rule: 'loss' in the key) that are not finite."""
    return [name for name, value in log_vars.items()
            if name != 'loss' and 'loss' in name and torch.is_tensor(value)
            and not bool(torch.isfinite(value).all())]


def guarded_update(optim_wrapper: OptimWrapper, total: torch.Tensor,
                   log_vars: Dict[str, torch.Tensor], step: str = 'main') -> bool:
    """``optim_wrapper.update_params(total)`` unless ``total`` is not finite.

    A skipped step runs no backward pass, so no gradient reaches the
    weights, the optimizer state or the gradients accumulated so far. Under
    DDP every rank skips when any rank's loss is not finite: a rank that
    skipped alone would leave the others waiting in the gradient all-reduce.

    Returns:
        bool: whether the parameters were updated.
    """
    finite = torch.isfinite(total.detach()).all().to(torch.float32)
    if get_world_size() > 1:
        all_reduce(finite, op='min')
    if bool(finite):
        optim_wrapper.update_params(total)
        return True
    hub = MessageHub.get_current_instance()
    events = hub.get_info(NONFINITE_LOSS_INFO) or []
    hub.update_info(NONFINITE_LOSS_INFO,
                    events + [dict(step=step, terms=nonfinite_terms(log_vars))])
    return False
