"""Non-local block (Wang et al., CVPR 2018) as AGW inserts it into ResNet stages."""
from typing import Optional

import torch
import torch.nn as nn
import torch.nn.functional as F


def memory_format_of(x: torch.Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a channels-last 4-D tensor, else contiguous."""
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


class NonLocal2d(nn.Module):
    """Non-local block ``z = BN(W y) + x`` with ``y_i = sum_j f(x_i, x_j) g(x_j)``.

    Args:
        in_channels: channels of the input (and output) map.
        inter_channels: channels of ``theta``, ``phi`` and ``g``. ``None``
            means ``in_channels // reduction``. (AGW's reference code ends up
            with 1, a quirk of its ``reduc_ratio // reduc_ratio``; set it
            explicitly to reproduce it.)
        reduction: see ``inter_channels``.
        mode: ``'embedded_gaussian'``: ``f = softmax_j(theta_i . phi_j)``;
            ``'dot_product'``: ``f = theta_i . phi_j / N`` (AGW's reference
            code, N = H*W positions).

    The BN after ``W`` starts with zero weight and bias, so a freshly built
    block is the identity and a pretrained ResNet keeps its function.
    """

    modes = ('embedded_gaussian', 'dot_product')

    def __init__(self,
                 in_channels: int,
                 inter_channels: Optional[int] = None,
                 reduction: int = 2,
                 mode: str = 'embedded_gaussian'):
        super().__init__()
        if mode not in self.modes:
            raise ValueError(f'NonLocal2d mode must be one of {self.modes}, '
                             f'got {mode!r}')
        if inter_channels is None:
            inter_channels = max(in_channels // reduction, 1)
        self.mode = mode
        self.g = nn.Conv2d(in_channels, inter_channels, kernel_size=1)
        self.theta = nn.Conv2d(in_channels, inter_channels, kernel_size=1)
        self.phi = nn.Conv2d(in_channels, inter_channels, kernel_size=1)
        self.W = nn.Sequential(
            nn.Conv2d(inter_channels, in_channels, kernel_size=1),
            nn.BatchNorm2d(in_channels))
        self.init_weights()

    def init_weights(self) -> None:
        nn.init.zeros_(self.W[1].weight)
        nn.init.zeros_(self.W[1].bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        n, k = h * w, self.g.out_channels
        # the three 1x1 projections as one matmul over the channels of a
        # [B, N, C] view (free for a channels-last x): one pass over x
        # instead of three, forward and backward
        positions = x.permute(0, 2, 3, 1).reshape(b, n, c)
        weight = torch.cat([self.g.weight, self.theta.weight, self.phi.weight]).view(3 * k, c)
        bias = torch.cat([self.g.bias, self.theta.bias, self.phi.bias])
        g_x, theta_x, phi_x = F.linear(positions, weight, bias).split(k, dim=-1)  # B, N, C'
        if self.mode == 'embedded_gaussian':
            y = (theta_x @ phi_x.transpose(1, 2)).softmax(dim=-1) @ g_x
        else:
            # (theta phi^T) g / N == theta (phi^T g) / N: the same function
            # without the N x N affinity (N = 648 at layer2 of a 288x144 input)
            y = theta_x @ (phi_x.transpose(1, 2) @ g_x / n)
        z = F.linear(y, self.W[0].weight.view(c, k), self.W[0].bias)
        # [B, N, C] is [B, C, H, W] in channels-last order; a NCHW x gets NCHW back
        z = z.view(b, h, w, c).permute(0, 3, 1, 2).contiguous(memory_format=memory_format_of(x))
        return self.W[1](z) + x
