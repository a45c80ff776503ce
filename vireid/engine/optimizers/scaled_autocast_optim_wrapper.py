"""float16 mixed precision with a dynamic loss scale that never waits for the GPU."""
from typing import Dict, List, Optional

import torch
from mmengine.optim import OptimWrapper

from vireid.registry import OPTIM_WRAPPERS
from vireid.utils.skipped_first_step import guard_first_step

from .autocast_optim_wrapper import AutocastOptimWrapper


def unscale_and_check(grads: List[torch.Tensor], scale: torch.Tensor) -> torch.Tensor:
    """Divide ``grads`` in place by ``scale``; a flag on ``scale``'s device, 1 if any is not finite.

    The flag stays on the device: the optimizer step reads it there.
    """
    by_kind: Dict[tuple, List[torch.Tensor]] = {}
    for grad in grads:
        by_kind.setdefault((grad.device, grad.dtype), []).append(grad)
    # 0-dim, as the fused optimizers take it (Adam subtracts it from its step counts)
    found_inf = torch.zeros((), device=scale.device)
    for (device, _), group in by_kind.items():
        found_here = torch.zeros((), device=device)
        # one fused pass per device and dtype, GradScaler.unscale_'s kernel
        torch._amp_foreach_non_finite_check_and_unscale_(
            group, found_here, scale.to(device).reciprocal())
        found_inf = torch.maximum(found_inf, found_here.to(scale.device))
    return found_inf


def update_scale(scale: torch.Tensor, growth_tracker: torch.Tensor, overflow: torch.Tensor,
                 keep: Optional[torch.Tensor], growth_factor: float, backoff_factor: float,
                 growth_interval: int) -> None:
    """GradScaler's update of ``scale`` and its count of finite steps, in place on the device.

    Where ``keep`` (a 0-dim flag) is set, both stay as they were.
    """
    before = None if keep is None else (scale.clone(), growth_tracker.clone())
    torch._amp_update_scale_(scale, growth_tracker, overflow, growth_factor, backoff_factor,
                             growth_interval)
    if before is not None:
        kept = keep.bool()
        scale.copy_(torch.where(kept, before[0], scale))
        growth_tracker.copy_(torch.where(kept, before[1], growth_tracker))


@OPTIM_WRAPPERS.register_module()
class ScaledAutocastOptimWrapper(AutocastOptimWrapper):
    """float16 autocast; the loss is scaled so that small gradients do not underflow.

    The scale is dynamic, GradScaler's rule: an overflow (a gradient that is
    not finite) skips the step and multiplies the scale by
    ``backoff_factor``, ``growth_interval`` finite steps in a row multiply
    it by ``growth_factor``. Unlike MMEngine's ``AmpOptimWrapper`` (a
    GradScaler) nothing is read on the host: the overflow flag reaches a
    fused optimizer (``fused=True`` SGD / Adam) as its ``found_inf``, the
    mechanism the loss guard uses, and the scale is updated on the device.
    Other optimizers read the flag on the host.

    A step the loss guard skips (a loss that is not finite) is skipped too,
    and leaves the scale as it was, on either of the guard's paths: the
    gradients of a non-finite loss say nothing about the range of the next
    ones. A skipped step creates no optimizer state
    (:func:`~vireid.utils.skipped_first_step.guard_first_step`). Gradient
    clipping (``clip_grad``) sees unscaled gradients, and its norm is
    logged without a host read (``AutocastOptimWrapper.grad_norm``); on an
    overflow it is not finite, and the step is skipped.

    Why float16 at all when bf16 needs no scale: cuDNN's batch norm takes
    fp16 activations, not bf16, and at 288x144 ResNet-50's BN layers run 39%
    faster in it on an H200 (docs/benchmark.md, points 21 and 22).
    """

    def __init__(self, *args, dtype: str = 'float16', init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, **kwargs):
        super().__init__(*args, dtype=dtype, **kwargs)
        if not (growth_factor > 1.0 and 0.0 < backoff_factor < 1.0 and growth_interval >= 1):
            raise ValueError('ScaledAutocastOptimWrapper needs growth_factor > 1, '
                             f'0 < backoff_factor < 1 and growth_interval >= 1; got '
                             f'{growth_factor}, {backoff_factor}, {growth_interval}')
        if (self.clip_grad_kwargs or {}).get('error_if_nonfinite'):
            raise ValueError('ScaledAutocastOptimWrapper: clip_grad=dict(error_if_nonfinite=True) '
                             'would stop training at the first fp16 overflow, which the loss '
                             'scale skips and handles; leave error_if_nonfinite out')
        self.growth_factor, self.backoff_factor = growth_factor, backoff_factor
        self.growth_interval = growth_interval
        self._scale = torch.tensor(float(init_scale), dtype=torch.float32)
        self._growth_tracker = torch.zeros((), dtype=torch.int32)

    @property
    def loss_scale(self) -> torch.Tensor:
        """The current scale, a 0-dim float32 tensor on the parameters' device."""
        device = next((p.device for group in self.optimizer.param_groups
                       for p in group['params']), self._scale.device)
        if self._scale.device != device:
            self._scale = self._scale.to(device)
            self._growth_tracker = self._growth_tracker.to(device)
        return self._scale

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        super().backward(loss * self.loss_scale, **kwargs)

    def step(self, **kwargs) -> None:
        params = [p for group in self.optimizer.param_groups for p in group['params']
                  if p.grad is not None]
        if not params:
            return
        scale = self.loss_scale
        overflow = unscale_and_check([p.grad for p in params], scale)
        guard_flag: Optional[torch.Tensor] = getattr(self.optimizer, 'found_inf', None)
        skipped = overflow if guard_flag is None else torch.maximum(overflow, guard_flag)
        if self.clip_grad_kwargs:
            self._clip_grad()
        if getattr(self.optimizer, '_step_supports_amp_scaling', False):
            guard_first_step(self.optimizer)
            self.optimizer.found_inf = skipped
            try:
                self.optimizer.step(**kwargs)
            finally:
                if guard_flag is None:
                    del self.optimizer.found_inf
                else:
                    self.optimizer.found_inf = guard_flag
        elif not bool(skipped):
            self.optimizer.step(**kwargs)
        update_scale(scale, self._growth_tracker, overflow, guard_flag, self.growth_factor,
                     self.backoff_factor, self.growth_interval)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state['loss_scale'] = dict(scale=float(self._scale), growth_tracker=int(self._growth_tracker))
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        saved = state_dict.pop('loss_scale', None)
        scaler = state_dict.pop('loss_scaler', None)  # an AmpOptimWrapper's GradScaler
        if saved is None and scaler is not None:
            saved = dict(scale=scaler['scale'], growth_tracker=scaler['_growth_tracker'])
        OptimWrapper.load_state_dict(self, state_dict)
        if saved is not None:
            self._scale.fill_(saved['scale'])
            self._growth_tracker.fill_(saved.get('growth_tracker', 0))
