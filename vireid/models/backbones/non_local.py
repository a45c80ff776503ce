"""Non-local block (Wang et al., CVPR 2018) as AGW inserts it into ResNet stages."""
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F


def memory_format_of(x: torch.Tensor) -> torch.memory_format:
    """``torch.channels_last`` for a channels-last 4-D tensor, else contiguous."""
    if x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous():
        return torch.channels_last
    return torch.contiguous_format


class _MatrixOf1x1(torch.autograd.Function):
    """A 1x1 convolution's weight [O, I, 1, 1] as an [O, I] matrix, its gradient in the weight's strides.

    A channels-last model gives these weights strides such as (I, 1, I, I):
    the same memory as the contiguous (I, 1, 1, 1), but a view's gradient
    comes back contiguous, and DDP, whose gradient buckets copy the
    parameters' strides, warns at every such mismatch.
    """

    @staticmethod
    def forward(ctx, weight: torch.Tensor) -> torch.Tensor:
        ctx.layout = weight.shape, weight.stride()
        return weight.view(weight.size(0), weight.size(1))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        shape, stride = ctx.layout
        return grad.contiguous().as_strided(shape, stride)


def matrix_of_1x1(weight: torch.Tensor) -> torch.Tensor:
    return _MatrixOf1x1.apply(weight)


def fold_linear_batch_norm(y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
                           bn: nn.BatchNorm2d) -> Tuple[torch.Tensor, torch.Tensor]:
    """``(rows [M, k+1], A [k+1, C])`` with ``rows @ A == bn(y @ weight.T + bias)`` for ``y`` [M, k].

    ``W``'s output ``z = y weight^T + bias`` has rank ``k`` (1 in AGW), so the
    BN over its ``C`` channels is affine in ``y``: its batch statistics are
    ``mean_c = w_c . mean(y) + bias_c`` and ``var_c = w_c^T cov(y) w_c``,
    found from ``y``'s k x k covariance in O(M k^2) instead of passes over
    an [M, C] map. ``rows`` is ``[y - mean(y), 1]`` in training (centred in
    fp32, so a bf16 product loses nothing to cancellation) and ``[y, 1]``
    with running statistics. In training mode ``bn``'s running statistics
    are updated as ``nn.BatchNorm2d`` updates them (unbiased variance,
    ``momentum`` or a cumulative average), and ``bias`` keeps BN's
    exactly-zero gradient.
    """
    # statistics in fp32 at least, as BN keeps them for a bf16 input (autocast
    # would run the small products here in bf16)
    with torch.autocast(y.device.type, enabled=False):
        return _fold(y, weight, bias, bn)


def _fold(y: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor,
          bn: nn.BatchNorm2d) -> Tuple[torch.Tensor, torch.Tensor]:
    num_positions, k = y.shape
    dtype = torch.promote_types(y.dtype, torch.float32)
    y, weight, bias = y.to(dtype), weight.to(dtype), bias.to(dtype)
    gamma = bn.weight.to(dtype) if bn.weight is not None else torch.ones_like(bias)
    beta = bn.bias.to(dtype) if bn.bias is not None else torch.zeros_like(bias)
    batch_stats = bn.training or not bn.track_running_stats
    if batch_stats:
        if num_positions < 2:
            raise ValueError(f'BatchNorm in training needs more than 1 value per channel; '
                             f'got a map of {num_positions} position')
        # few kernels: at these sizes a kernel's launch in a graph costs more than a pass
        if k == 1:
            var_y, centre = torch.var_mean(y, 0, unbiased=False)
            var = weight.view(-1).square() * var_y
            centred = y - centre
        else:
            centre = y.mean(0)
            centred = y - centre
            # (torch.cov would wait for the GPU, which no graph capture allows)
            cov = centred.t() @ centred / num_positions
            var = ((weight @ cov) * weight).sum(1).clamp_min(0)
        if bn.training and bn.track_running_stats:
            _update_running_stats(bn, (weight @ centre + bias).detach(), var.detach(),
                                  num_positions)
    else:
        centred, var = y, bn.running_var.to(dtype)
    scale = gamma * torch.rsqrt(var + bn.eps)
    # with batch statistics BN subtracts W's bias again: an exactly-zero gradient, as from BN
    shift = (beta + bias * 0 if batch_stats
             else (bias - bn.running_mean.to(dtype)) * scale + beta)
    rows = F.pad(centred, (0, 1), value=1.)
    return rows, torch.cat([weight.t() * scale, shift.unsqueeze(0)])


@torch.no_grad()
def _update_running_stats(bn: nn.BatchNorm2d, mean: torch.Tensor, var: torch.Tensor,
                          num_positions: int) -> None:
    bn.num_batches_tracked.add_(1)
    unbiased = var * (num_positions / (num_positions - 1))
    for stat, value in ((bn.running_mean, mean), (bn.running_var, unbiased)):
        if bn.momentum is not None:
            stat.lerp_(value.to(stat.dtype), bn.momentum)
        else:  # a cumulative average, without reading the count back to the host
            stat.lerp_(value.to(stat.dtype), (1 / bn.num_batches_tracked).to(stat.dtype))


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
        weight = torch.cat([matrix_of_1x1(conv.weight) for conv in (self.g, self.theta, self.phi)])
        bias = torch.cat([self.g.bias, self.theta.bias, self.phi.bias])
        g_x, theta_x, phi_x = F.linear(positions, weight, bias).split(k, dim=-1)  # B, N, C'
        if self.mode == 'embedded_gaussian':
            y = (theta_x @ phi_x.transpose(1, 2)).softmax(dim=-1) @ g_x
        else:
            # (theta phi^T) g / N == theta (phi^T g) / N: the same function
            # without the N x N affinity (N = 648 at layer2 of a 288x144 input)
            y = theta_x @ (phi_x.transpose(1, 2) @ g_x / n)
        out = self.embed(y.reshape(b * n, k), positions.reshape(b * n, c))
        # [B, N, C] is [B, C, H, W] in channels-last order; a NCHW x gets NCHW back
        return out.view(b, h, w, c).permute(0, 3, 1, 2).contiguous(
            memory_format=memory_format_of(x))

    def embed(self, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``BN(W y) + x`` over [M, k] / [M, C] rows of positions.

        With W's BN folded into one [k+1, C] matrix (see
        :func:`fold_linear_batch_norm`) this is a single matmul that adds
        onto ``x``: no [M, C] map of ``W y``, no BN passes over one, forward
        or backward. A BN of another type (SyncBN) runs as a layer.
        """
        conv, bn = self.W
        weight = matrix_of_1x1(conv.weight)
        if type(bn) is not nn.BatchNorm2d:
            z = F.linear(y, weight, conv.bias)
            return bn(z.view(*z.shape, 1, 1)).view(z.shape) + x
        rows, folded = fold_linear_batch_norm(y, weight, conv.bias, bn)
        # in x's dtype, as the residual sum of the layers would be (autocast
        # would round an fp32 x to bf16)
        with torch.autocast(x.device.type, enabled=False):
            return torch.addmm(x, rows.to(x.dtype), folded.to(x.dtype))
