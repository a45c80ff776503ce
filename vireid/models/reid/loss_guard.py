"""Skip an optimizer step whose loss is not finite, and record which terms were.

One NaN step is enough to ruin a run: the optimizer writes NaN into every
weight it touches, and its momentum carries the NaN on. The check must not
wait for the GPU, though: a host sync in the middle of a step leaves the GPU
idle while the host launches the rest. With a fused optimizer (``fused=True``
SGD / Adam / AdamW, what the schedules use) the skip happens on the GPU: the
fused kernels take a ``found_inf`` flag (the mechanism of PyTorch's
GradScaler) and leave weights and optimizer state untouched when it is set.
Other optimizers, gradient accumulation and MMEngine's fp16 loss scaler take
the synchronous path: check on the host, then run the backward pass or not.

The policy (log, stop after repeated skips) is ``NonFiniteLossHook``'s. It
reads the records left here in the message hub, and resolves the flags of
the sync-free path at the logger's iterations.
"""
import math
from typing import Dict, List

import torch
from mmengine.dist import all_reduce, get_world_size
from mmengine.logging import MessageHub
from mmengine.optim import OptimWrapper

from vireid.utils.host_values import host_values
from vireid.utils.skipped_first_step import guard_first_step

# message hub runtime-info key: a list of dict(step=..., skipped=..., terms={...}) per iteration
NONFINITE_LOSS_INFO = 'nonfinite_loss'
# records of sync-free steps, which are kept whether skipped or not, wait for
# NonFiniteLossHook; without the hook they are resolved once this many pile up
MAX_PENDING_RECORDS = 256


def loss_terms(log_vars: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """The summed terms of ``log_vars`` (``parse_losses``'s rule: 'loss' in the key), detached."""
    return {name: value.detach() for name, value in log_vars.items()
            if name != 'loss' and 'loss' in name and torch.is_tensor(value)}


def nonfinite_terms(terms: Dict[str, float]) -> List[str]:
    """Names of the resolved terms that are NaN or inf."""
    return [name for name, value in terms.items() if not math.isfinite(value)]


def skips_on_device(optim_wrapper: OptimWrapper) -> bool:
    """Whether this wrapper's step can be skipped on the GPU, without a host sync."""
    optimizer = optim_wrapper.optimizer
    return (getattr(optimizer, '_step_supports_amp_scaling', False)
            and not hasattr(optim_wrapper, 'loss_scaler')
            and getattr(optim_wrapper, '_accumulative_counts', 1) == 1
            and getattr(optimizer, 'found_inf', None) is None)


def record(event: dict) -> None:
    hub = MessageHub.get_current_instance()
    events = (hub.get_info(NONFINITE_LOSS_INFO) or []) + [event]
    if len(events) > MAX_PENDING_RECORDS:
        events = [e for e in resolve_records(events) if e['skipped']]
    hub.update_info(NONFINITE_LOSS_INFO, events)


def resolve_records(events: List[dict]) -> List[dict]:
    """The records with their flags and terms as Python values (one host sync for all)."""
    flat = iter(host_values([v for e in events for v in (e['skipped'], *e['terms'].values())]))
    return [dict(event, skipped=bool(next(flat)),
                 terms={name: float(next(flat)) for name in event['terms']})
            for event in events]


def guarded_update(optim_wrapper: OptimWrapper, total: torch.Tensor,
                   log_vars: Dict[str, torch.Tensor], step: str = 'main') -> None:
    """``optim_wrapper.update_params(total)`` with no effect if ``total`` is not finite.

    A skipped step changes no weight and no optimizer state (momentum,
    Adam's moments and step count), and its gradients are cleared. Under DDP
    every rank skips when any rank's loss is not finite: the flags are
    all-reduced, as the gradients are.

    Sync-free path (see the module docstring): the backward pass runs and the
    fused optimizer kernels skip the update. Synchronous path: a skipped
    step runs no backward pass at all.

    Afterwards ``log_vars`` hold detached values: a logged term kept past
    the step would keep its autograd graph alive, and with it the
    parameters' gradient accumulators, bound to the stream that made them,
    which a later CUDA-graph capture cannot use.
    """
    terms = loss_terms(log_vars)
    finite = torch.isfinite(total.detach()).all().to(torch.float32)
    if get_world_size() > 1:
        all_reduce(finite, op='min')
    if skips_on_device(optim_wrapper):
        optimizer = optim_wrapper.optimizer
        guard_first_step(optimizer)
        skipped = 1 - finite
        optimizer.found_inf = skipped
        try:
            optim_wrapper.update_params(total)
        finally:
            del optimizer.found_inf
        record(dict(step=step, skipped=skipped, terms=terms))
    elif bool(finite):
        optim_wrapper.update_params(total)
    else:
        record(dict(step=step, skipped=True, terms=terms))
    for name, value in log_vars.items():
        if torch.is_tensor(value):
            log_vars[name] = value.detach()
