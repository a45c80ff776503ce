"""W's BN folded into one matmul: the same function, gradients and running statistics as the layers."""
import copy
import warnings

import pytest
import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from vireid.models.backbones import NonLocal2d
from vireid.models.backbones.non_local import fold_linear_batch_norm


class LayerBatchNorm(nn.BatchNorm2d):
    """A BN of another type: NonLocal2d runs it as a layer (the unfolded path)."""


def random_bn(channels, momentum=0.1, seed=0):
    torch.manual_seed(seed)
    bn = nn.BatchNorm2d(channels, momentum=momentum)
    with torch.no_grad():
        bn.weight.uniform_(0.5, 1.5)
        bn.bias.normal_()
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2)
    return bn


@pytest.mark.parametrize('momentum', [0.1, None])
@pytest.mark.parametrize('k', [1, 3])
def test_folded_train_mode_bn_gives_the_layers_outputs_gradients_and_statistics(k, momentum):
    m, c = 12, 5
    bn_fold = random_bn(c, momentum)
    bn_ref = copy.deepcopy(bn_fold)
    weight = torch.randn(c, k, requires_grad=True)
    bias = torch.randn(c, requires_grad=True)
    for step in range(3):
        y = (torch.randn(m, k) * 2 + 1).requires_grad_()
        rows, matrix = fold_linear_batch_norm(y, weight, bias, bn_fold)
        folded = rows @ matrix
        ref = bn_ref(F.linear(y, weight, bias).view(m, c, 1, 1)).view(m, c)
        torch.testing.assert_close(folded, ref, rtol=1e-5, atol=1e-5)
        probe = torch.randn(m, c)
        grads = torch.autograd.grad((folded * probe).sum(),
                                    (y, weight, bias, bn_fold.weight, bn_fold.bias))
        ref_grads = torch.autograd.grad((ref * probe).sum(),
                                        (y, weight, bias, bn_ref.weight, bn_ref.bias))
        for name, a, b in zip(('y', 'weight', 'bias', 'gamma', 'beta'), grads, ref_grads):
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5, msg=f'step {step}: {name}')
        # BN removes W's bias: zero gradient, but a gradient (weight decay still sees it)
        assert torch.count_nonzero(grads[2]) == 0
        for name in ('running_mean', 'running_var', 'num_batches_tracked'):
            torch.testing.assert_close(getattr(bn_fold, name), getattr(bn_ref, name),
                                       msg=f'step {step}: {name}')


def test_folded_eval_mode_bn_uses_the_running_statistics():
    m, c, k = 7, 4, 2
    bn = random_bn(c).eval()
    weight, bias, y = torch.randn(c, k), torch.randn(c), torch.randn(m, k)
    rows, matrix = fold_linear_batch_norm(y, weight, bias, bn)
    folded = rows @ matrix
    expected = (y @ weight.t() + bias - bn.running_mean) / torch.sqrt(
        bn.running_var + bn.eps) * bn.weight + bn.bias
    torch.testing.assert_close(folded, expected)


def test_bn_without_running_statistics_normalises_by_the_batch_in_eval_too():
    m, c = 9, 3
    bn = nn.BatchNorm2d(c, track_running_stats=False).eval()
    weight, bias, y = torch.randn(c, 1), torch.randn(c), torch.randn(m, 1)
    rows, matrix = fold_linear_batch_norm(y, weight, bias, bn)
    folded = rows @ matrix
    z = y @ weight.t() + bias
    expected = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + bn.eps)
    torch.testing.assert_close(folded, expected, rtol=1e-4, atol=1e-5)


def test_a_one_position_batch_is_refused_as_bn_refuses_it():
    with pytest.raises(ValueError, match='more than 1 value per channel'):
        fold_linear_batch_norm(torch.randn(1, 1), torch.randn(3, 1), torch.randn(3),
                               nn.BatchNorm2d(3))


@pytest.mark.parametrize('channels_last', [True, False])
@pytest.mark.parametrize('mode', NonLocal2d.modes)
def test_the_folded_block_trains_as_the_block_with_bn_as_a_layer(mode, channels_last):
    torch.manual_seed(0)
    folded = NonLocal2d(6, inter_channels=1, mode=mode)
    with torch.no_grad():
        folded.W[1].weight.uniform_(0.5, 1.5)
        folded.W[1].bias.normal_()
    layered = copy.deepcopy(folded)
    layered.W[1] = LayerBatchNorm(6)
    layered.W[1].load_state_dict(folded.W[1].state_dict())
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    # in float64: with W's small outputs normalised, the layers' fp32 rounding shows
    for model in (folded, layered):
        model.to(torch.float64, memory_format=fmt)
    for step in range(2):
        x = torch.randn(3, 6, 4, 5, dtype=torch.float64).contiguous(memory_format=fmt)
        outs = [model(x.clone().requires_grad_()) for model in (folded, layered)]
        torch.testing.assert_close(outs[0], outs[1])
        assert outs[0].is_contiguous(memory_format=fmt)
        for out in outs:
            (out * torch.linspace(-1, 1, out.numel()).view_as(out)).sum().backward()
        for (name, a), b in zip(folded.named_parameters(), layered.parameters()):
            torch.testing.assert_close(a.grad, b.grad, msg=name)
    for a, b in zip(folded.W[1].buffers(), layered.W[1].buffers()):
        torch.testing.assert_close(a, b)
    folded.eval(), layered.eval()
    x = torch.randn(2, 6, 4, 5, dtype=torch.float64).contiguous(memory_format=fmt)
    torch.testing.assert_close(folded(x), layered(x))


def test_in_bf16_the_fold_is_closer_to_the_exact_function_than_the_layers():
    # y far from zero against its spread: an uncentred bf16 product would cancel
    m, c = 64, 8
    torch.manual_seed(0)
    y, weight, bias = (torch.randn(m, 1) * 0.05 + 3).bfloat16(), torch.randn(c, 1), torch.randn(c)
    exact = nn.BatchNorm2d(c).double()(
        F.linear(y.double(), weight.double(), bias.double()).view(m, c, 1, 1)).view(m, c)
    rows, matrix = fold_linear_batch_norm(y, weight, bias, nn.BatchNorm2d(c))
    folded = rows.bfloat16() @ matrix.bfloat16()
    layered = nn.BatchNorm2d(c)(F.linear(y, weight.bfloat16(), bias.bfloat16())
                                .view(m, c, 1, 1).float()).view(m, c)
    error = (folded.double() - exact).abs().max()
    assert error < (layered.double() - exact).abs().max()
    assert error < 0.05


def test_under_ddp_a_channels_last_block_hands_back_gradients_in_its_weights_strides(tmp_path):
    # (1, C, 1, 1) weights get strides (C, 1, C, C) in a channels-last model; DDP's buckets copy
    # them and warned at every contiguous gradient
    torch.manual_seed(0)
    block = NonLocal2d(8, inter_channels=1, mode='dot_product').to(memory_format=torch.channels_last)
    assert block.g.weight.stride() != torch.empty(1, 8, 1, 1).stride()
    dist.init_process_group('gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        model = DistributedDataParallel(block)
        x = torch.randn(4, 8, 6, 3).contiguous(memory_format=torch.channels_last)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            model(x).sum().backward()
    finally:
        dist.destroy_process_group()
    assert not [w for w in caught if 'strides' in str(w.message)]
    for name, param in block.named_parameters():
        assert param.grad.stride() == param.stride(), name


@pytest.mark.parametrize('k', [1, 3])
def test_autocast_leaves_the_statistics_and_the_residual_in_fp32(k):
    m, c = 50, 6
    torch.manual_seed(0)
    y, weight, bias = torch.randn(m, k) + 2, torch.randn(c, k), torch.randn(c)
    bn_autocast, bn = nn.BatchNorm2d(c), nn.BatchNorm2d(c)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        rows_a, matrix_a = fold_linear_batch_norm(y, weight, bias, bn_autocast)
    rows, matrix = fold_linear_batch_norm(y, weight, bias, bn)
    torch.testing.assert_close(matrix_a, matrix)
    torch.testing.assert_close(rows_a, rows)
    for a, b in zip(bn_autocast.buffers(), bn.buffers()):
        torch.testing.assert_close(a, b)
    block = NonLocal2d(c, inter_channels=k, mode='dot_product')
    x = torch.randn(m, c)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        out = block.embed(y, x)
    assert out.dtype == torch.float32  # an fp32 residual stays fp32, as with BN as a layer
    torch.testing.assert_close(out, block.embed(y, x))
