"""bf16 mixed precision without a loss scaler."""
from contextlib import contextmanager
from typing import Optional

import torch
from mmengine.optim import OptimWrapper

from vireid.registry import OPTIM_WRAPPERS


@OPTIM_WRAPPERS.register_module()
class AutocastOptimWrapper(OptimWrapper):
    """An ``OptimWrapper`` whose forward passes run under ``torch.autocast``.

    Meant for bfloat16: it has float32's exponent range, so gradients do not
    underflow and MMEngine's ``AmpOptimWrapper`` loss scaler (whose inf check
    waits on the GPU every step) buys nothing. Works on the CPU too.
    """

    def __init__(self, *args, dtype: str = 'bfloat16', **kwargs):
        super().__init__(*args, **kwargs)
        self.cast_dtype = getattr(torch, dtype)
        self.grad_norm: Optional[torch.Tensor] = None

    def _clip_grad(self) -> None:
        """MMEngine's clipping, but the norm before clipping stays on the device.

        MMEngine logs ``float(norm)``, a host sync every step;
        :class:`~vireid.engine.hooks.DeferredRuntimeInfoHook` logs
        :attr:`grad_norm` as ``train/grad_norm`` (``train/<key>.grad_norm``)
        at the logger's sync points instead. Clipping by value has no norm.
        """
        params = [p for group in self.optimizer.param_groups for p in group['params']
                  if p.requires_grad and p.grad is not None]
        if params:
            norm = self.clip_func(params, **self.clip_grad_kwargs)
            self.grad_norm = None if norm is None else norm.detach()

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        # no cast cache: each weight is cast once per step anyway, and CUDA
        # graph capture (TwoStreamResNet(cuda_graph=True)) refuses the cache
        with super().optim_context(model), torch.autocast(
                device_type, dtype=self.cast_dtype, cache_enabled=False):
            yield
