"""bf16 mixed precision without a loss scaler."""
from contextlib import contextmanager

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

    @contextmanager
    def optim_context(self, model: torch.nn.Module):
        device_type = 'cuda' if torch.cuda.is_available() else 'cpu'
        # no cast cache: each weight is cast once per step anyway, and CUDA
        # graph capture (TwoStreamResNet(cuda_graph=True)) refuses the cache
        with super().optim_context(model), torch.autocast(
                device_type, dtype=self.cast_dtype, cache_enabled=False):
            yield
