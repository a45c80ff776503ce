"""float16 mixed precision with a dynamic loss scale that never waits for the GPU."""
from typing import Dict, List, Optional

import torch
from mmengine.optim import OptimWrapper

from vireid.registry import OPTIM_WRAPPERS

from .autocast_optim_wrapper import AutocastOptimWrapper


def unscale_and_check(grads: List[torch.Tensor], inv_scale: torch.Tensor) -> torch.Tensor:
    """Multiply ``grads`` in place by ``inv_scale``; a device flag, 1 if any is not finite.

    The flag stays on the device: the optimizer step reads it there.
    """
    # 0-dim, as the fused optimizers take it (Adam subtracts it from its step counts)
    found_inf = torch.zeros((), device=inv_scale.device)
    by_kind: Dict[tuple, List[torch.Tensor]] = {}
    for grad in grads:
        by_kind.setdefault((grad.device, grad.dtype), []).append(grad)
    for group in by_kind.values():
        # one fused pass per device and dtype, GradScaler.unscale_'s kernel
        torch._amp_foreach_non_finite_check_and_unscale_(group, found_inf, inv_scale)
    return found_inf


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
    A step the loss guard skips (a loss that is not finite) is skipped too.
    Other optimizers read the flag on the host.

    Why float16 at all when bf16 needs no scale: cuDNN's batch norm takes
    fp16 activations, not bf16, and at 288x144 ResNet-50's 53 BN layers run
    39% faster in it on an H200 (docs/benchmark.md, point 21).
    """

    def __init__(self, *args, dtype: str = 'float16', init_scale: float = 2.0**16,
                 growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, **kwargs):
        super().__init__(*args, dtype=dtype, **kwargs)
        if not (growth_factor > 1.0 and 0.0 < backoff_factor < 1.0 and growth_interval >= 1):
            raise ValueError('ScaledAutocastOptimWrapper needs growth_factor > 1, '
                             f'0 < backoff_factor < 1 and growth_interval >= 1; got '
                             f'{growth_factor}, {backoff_factor}, {growth_interval}')
        self.growth_factor, self.backoff_factor = growth_factor, backoff_factor
        self.growth_interval = growth_interval
        self._scale = torch.tensor(float(init_scale))
        self._growth_tracker = torch.zeros((), dtype=torch.int32)

    @property
    def loss_scale(self) -> torch.Tensor:
        """The current scale, a 0-dim float32 tensor on the parameters' device."""
        device = next(p.device for group in self.optimizer.param_groups for p in group['params'])
        if self._scale.device != device:
            self._scale = self._scale.to(device)
            self._growth_tracker = self._growth_tracker.to(device)
        return self._scale

    def backward(self, loss: torch.Tensor, **kwargs) -> None:
        super().backward(loss * self.loss_scale.to(loss.dtype), **kwargs)

    def step(self, **kwargs) -> None:
        params = [p for group in self.optimizer.param_groups for p in group['params']
                  if p.grad is not None]
        if not params:
            return
        scale = self.loss_scale
        overflow = unscale_and_check([p.grad for p in params], scale.reciprocal())
        guard_flag: Optional[torch.Tensor] = getattr(self.optimizer, 'found_inf', None)
        skipped = overflow if guard_flag is None else torch.maximum(overflow, guard_flag)
        if self.clip_grad_kwargs:
            self._clip_grad()
        if getattr(self.optimizer, '_step_supports_amp_scaling', False):
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
        # the gradients set the scale, as GradScaler's: a step the loss guard
        # skipped with finite gradients leaves it growing
        torch._amp_update_scale_(scale, self._growth_tracker, overflow, self.growth_factor,
                                 self.backoff_factor, self.growth_interval)

    def state_dict(self) -> dict:
        state = super().state_dict()
        state['loss_scale'] = dict(scale=float(self._scale), growth_tracker=int(self._growth_tracker))
        return state

    def load_state_dict(self, state_dict: dict) -> None:
        state_dict = dict(state_dict)
        saved = state_dict.pop('loss_scale', None)
        if saved is not None:
            self._scale.fill_(saved['scale'])
            self._growth_tracker.fill_(saved['growth_tracker'])
        OptimWrapper.load_state_dict(self, state_dict)
