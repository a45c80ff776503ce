"""GeM pooling (AGW): mmpretrain's ``GeneralizedMeanPooling``, pooled with a mean over the map."""
import torch
from mmpretrain.models.necks import GeneralizedMeanPooling

from vireid.registry import MODELS


def generalized_mean(x: torch.Tensor, p, eps: float = 1e-6, clamp: bool = True) -> torch.Tensor:
    """GeM of AGW: ``(mean_{h,w} x^p)^(1/p)`` per channel, ``[B, C, H, W] -> [B, C]``."""
    if clamp:
        x = x.clamp(min=eps)
    return x.pow(p).mean(dim=(2, 3)).pow(1. / p)


@MODELS.register_module()
class GeM(GeneralizedMeanPooling):
    """``GeneralizedMeanPooling`` (same arguments, the same ``p`` parameter) with a mean for its pool.

    mmpretrain pools with an ``avg_pool2d`` as large as the map. Its backward
    pass writes the gradient of every position in a kernel of its own
    (0.32 ms of an AGW step's 18.7 ms on an H200, in fp32 and channels-last);
    the mean's backward is a broadcast that the power's backward reads
    (AGW's GPU time 18.66 -> 18.53 ms, docs/benchmark.md point 21). A
    checkpoint of either class loads into the other, and the mean, free of
    the map's size, exports to ONNX.
    """

    def forward(self, inputs):
        if isinstance(inputs, tuple):
            return tuple(generalized_mean(x, self.p, self.eps, self.clamp) for x in inputs)
        if isinstance(inputs, torch.Tensor):
            return generalized_mean(inputs, self.p, self.eps, self.clamp)
        raise TypeError(f'GeM takes a [B, C, H, W] tensor or a tuple of them, '
                        f'not {type(inputs).__name__}')
