"""MMEngine's RuntimeInfoHook without its per-iteration host sync."""
from typing import Any, Dict, List, Tuple

import torch
from mmengine.hooks import RuntimeInfoHook

from vireid.registry import HOOKS
from vireid.utils.host_values import host_values
from .sync_points import SyncPointHook


def device_scalars(optim_wrapper) -> List[Tuple[str, torch.Tensor]]:
    """``(log key, 0-dim tensor)`` of what each optim wrapper keeps on the device for the log.

    An fp16 wrapper's ``loss_scale``, and the ``grad_norm`` of one that
    clipped by norm (vireid's autocast wrappers).
    """
    if hasattr(optim_wrapper, 'items'):  # an OptimWrapperDict: one prefix per key
        wrappers = [(f'{key}.', wrapper) for key, wrapper in optim_wrapper.items()]
    else:
        wrappers = [('', optim_wrapper)]
    scalars = []
    for prefix, wrapper in wrappers:
        for name in ('loss_scale', 'grad_norm'):
            value = getattr(wrapper, name, None)
            if torch.is_tensor(value):
                scalars.append((prefix + name, value))
    return scalars


def loss_scales(optim_wrapper) -> List[Tuple[str, torch.Tensor]]:
    """``(log key, scale)`` of each optim wrapper that scales its loss."""
    return [(key, value) for key, value in device_scalars(optim_wrapper)
            if key.endswith('loss_scale')]


@HOOKS.register_module()
class DeferredRuntimeInfoHook(SyncPointHook, RuntimeInfoHook):
    """``RuntimeInfoHook`` that puts the step's logged tensors into the message hub at the sync points.

    MMEngine's hook converts every logged loss with ``.item()`` after every
    iteration. This one keeps them (detached) and writes them all, in
    order, at the logger's iterations (see :mod:`.sync_points`), so the
    message hub holds the same history whenever the logger or a checkpoint
    reads it. A hook of your own that reads ``train/*`` scalars from the
    message hub every iteration sees them only at those iterations; read
    ``outputs`` in ``after_train_iter`` instead.

    An fp16 run's loss scale (``ScaledAutocastOptimWrapper``) is logged the
    same way, as ``train/loss_scale`` (``train/<key>.loss_scale`` per
    optimizer key): a scale that keeps falling is the first sign of a run
    going wrong in fp16. So is the gradient norm of an autocast wrapper
    that clips (``clip_grad=dict(max_norm=...)``): ``train/grad_norm``,
    read here and not by the wrapper every step as in MMEngine.
    """

    def __init__(self) -> None:
        SyncPointHook.__init__(self)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None,
                         outputs: Dict[str, Any] = None) -> None:
        logged = {key: value.detach() if torch.is_tensor(value) else value
                  for key, value in (outputs or {}).items()}
        # a copy: the wrapper updates its scale in place
        logged.update({key: value.clone() for key, value in device_scalars(runner.optim_wrapper)})
        self.defer(runner, batch_idx, logged)

    def process(self, runner, pending: List[Tuple[int, dict]]) -> None:
        values = iter(host_values([v for _, outputs in pending for v in outputs.values()]))
        for _, outputs in pending:
            for key in outputs:
                runner.message_hub.update_scalar(f'train/{key}', next(values))
