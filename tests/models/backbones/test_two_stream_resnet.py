"""TwoStreamResNet: modality routing, split / specific tails, init, non-local positions."""
import pytest
import torch
import torchvision

from vireid.models.backbones import NonLocal2d, TwoStreamResNet

VIS, IR = 0, 1


def tiny(**kwargs):
    kwargs.setdefault('depth', 18)
    kwargs.setdefault('base_channels', 8)
    return TwoStreamResNet(**kwargs)


def make_stems_differ(backbone, branches=('infrared', )):
    with torch.no_grad():
        for name in branches:
            for param in getattr(backbone, name).parameters():
                param.add_(torch.randn_like(param) * 0.5)


def grads_of(module):
    return [p.grad for p in module.parameters()]


def test_visible_only_batch_never_touches_infrared_stem():
    backbone = tiny()
    x = torch.randn(4, 3, 64, 32)
    (out, ) = backbone(x, torch.full((4, ), VIS))
    out.sum().backward()
    assert all(g is None for g in grads_of(backbone.infrared))
    assert backbone.visible.conv1.weight.grad.abs().sum() > 0


def test_visible_outputs_of_mixed_batch_give_infrared_stem_no_gradient():
    backbone = tiny()
    backbone.eval()  # in train mode the shared BN couples samples of a batch
    modality = torch.tensor([IR, VIS, IR, VIS])
    (out, ) = backbone(torch.randn(4, 3, 64, 32), modality)
    out[modality == VIS].sum().backward()
    assert all(g is None or not g.any() for g in grads_of(backbone.infrared))
    assert backbone.visible.conv1.weight.grad.abs().sum() > 0


def test_any_order_gives_the_same_per_sample_outputs_as_separate_passes():
    torch.manual_seed(0)
    backbone = tiny()
    make_stems_differ(backbone)
    backbone.eval()
    x = torch.randn(6, 3, 64, 32)
    modality = torch.tensor([IR, VIS, VIS, IR, VIS, IR])
    with torch.no_grad():
        (mixed, ) = backbone(x, modality)
        (vis, ) = backbone(x[modality == VIS], torch.full((3, ), VIS))
        (ir, ) = backbone(x[modality == IR], torch.full((3, ), IR))
        perm = torch.tensor([5, 0, 3, 1, 4, 2])
        (shuffled, ) = backbone(x[perm], modality[perm])
        (all_as_visible, ) = backbone(x, torch.full((6, ), VIS))
    torch.testing.assert_close(mixed[modality == VIS], vis)
    torch.testing.assert_close(mixed[modality == IR], ir)
    torch.testing.assert_close(shuffled, mixed[perm])
    # the infrared stem really is used for infrared samples
    assert not torch.allclose(all_as_visible[modality == IR], ir, atol=1e-4)


def test_bad_modality_raises():
    backbone = tiny()
    x = torch.randn(2, 3, 64, 32)
    with pytest.raises(ValueError, match='modality'):
        backbone(x, torch.tensor([0, 2]))
    with pytest.raises(ValueError, match='modality'):
        backbone(x, torch.tensor([0]))
    with pytest.raises(ValueError, match='split'):
        tiny(split='layer4')


def test_layer2_split_with_specific_tails():
    torch.manual_seed(0)
    backbone = tiny(split='layer2', specific_tail=True, last_stride=1)
    assert backbone.visible.parts == ('stem', 'layer1', 'layer2')
    assert backbone.shared.parts == ('layer3', 'layer4')
    assert backbone.visible_tail.parts == backbone.infrared_tail.parts == ('layer3', 'layer4')
    modality = torch.tensor([VIS, IR, IR, VIS])
    shared, specific = backbone(torch.randn(4, 3, 64, 32), modality)
    # 64x32 -> /4 stem -> /2 layer2 -> /2 layer3 -> stride-1 layer4: 4x2
    assert shared.shape == specific.shape == (4, 64, 4, 2)
    assert backbone.out_channels == 64

    # independent weights: no tensor is shared between the three copies
    pointers = [{p.data_ptr() for p in getattr(backbone, name).parameters()}
                for name in ('shared', 'visible_tail', 'infrared_tail')]
    assert not (pointers[0] & pointers[1] or pointers[0] & pointers[2]
                or pointers[1] & pointers[2])

    # the specific map of visible samples comes from the visible tail only
    specific[modality == VIS].sum().backward()
    assert all(p.grad is None or not p.grad.any()
               for p in backbone.infrared_tail.parameters())
    assert all(p.grad is None for p in backbone.shared.parameters())
    assert any(p.grad is not None and p.grad.any()
               for p in backbone.visible_tail.parameters())


def test_last_stride_two_halves_the_map():
    (out, ) = tiny(last_stride=2)(torch.randn(2, 3, 64, 32), torch.tensor([0, 1]))
    assert out.shape == (2, 64, 2, 1)


def test_init_from_local_checkpoint_fills_every_branch(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None)
    with torch.no_grad():  # convs are random already; make BN tensors distinctive too
        for name, tensor in reference.state_dict().items():
            if tensor.is_floating_point() and tensor.dim() == 1:
                tensor.uniform_(0.5, 1.5)
    path = tmp_path / 'resnet18_fake.pth'
    torch.save(reference.state_dict(), path)

    backbone = TwoStreamResNet(
        depth=18, split='layer1', specific_tail=True,
        non_local=dict(layer3=(1, )),
        init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    backbone.init_weights()
    expected = reference.state_dict()
    own = backbone.state_dict()
    checked = 0
    for branch, parts in backbone.branch_parts.items():
        for key, value in expected.items():
            part = 'stem' if key.split('.')[0] in ('conv1', 'bn1') else key.split('.')[0]
            if part in parts:
                assert torch.equal(own[f'{branch}.{key}'], value), f'{branch}.{key}'
                checked += 1
    # every backbone weight (non-local blocks aside) came from the checkpoint
    n_resnet = sum(1 for key in own if '.non_local.' not in key)
    assert checked == n_resnet
    # non-local blocks start as the identity
    block = backbone.shared.non_local['layer3_1']
    assert not block.W[1].weight.any() and not block.W[1].bias.any()


@pytest.mark.parametrize('checkpoint', ['missing/resnet18.pth',
                                        'http://127.0.0.1:9/resnet18-unreachable.pth'])
def test_unloadable_weights_name_the_checkpoint_and_the_ways_out(checkpoint, tmp_path,
                                                                 monkeypatch):
    monkeypatch.setenv('TORCH_HOME', str(tmp_path))  # no cached copy of the URL
    backbone = tiny(init_cfg=dict(type='Pretrained', checkpoint=checkpoint))
    with pytest.raises(OSError, match=f"{checkpoint!r}.*init_cfg=None"):
        backbone.init_weights()


def test_checkpoint_of_another_width_is_rejected(tmp_path):
    path = tmp_path / 'resnet18.pth'
    torch.save(torchvision.models.resnet18(weights=None).state_dict(), path)
    backbone = tiny(init_cfg=dict(type='Pretrained', checkpoint=str(path)))
    with pytest.raises(ValueError, match='resnet18.pth'):
        backbone.init_weights()


def test_scratch_init_gives_every_branch_the_same_weights():
    backbone = tiny(specific_tail=True)
    backbone.init_weights()
    vis, ir = backbone.visible.state_dict(), backbone.infrared.state_dict()
    assert vis.keys() == ir.keys()
    for key in vis:
        torch.testing.assert_close(vis[key], ir[key])
    torch.testing.assert_close(backbone.shared.layer2[0].conv1.weight,
                               backbone.infrared_tail.layer2[0].conv1.weight)
    # zero_init_residual: the last BN of each block starts at 0
    assert not backbone.shared.layer1[0].norm2.weight.any()


def test_agw_non_local_positions_on_resnet50():
    backbone = TwoStreamResNet(
        depth=50, base_channels=4,
        non_local=dict(layer2=(2, 3), layer3=(3, 4, 5)))
    assert set(backbone.shared.non_local) == {
        'layer2_2', 'layer2_3', 'layer3_3', 'layer3_4', 'layer3_5'}
    assert len(backbone.visible.non_local) == len(backbone.infrared.non_local) == 0
    # layer2 of a width-4 ResNet-50 outputs 4 * 2 * 4 = 32 channels
    assert backbone.shared.non_local['layer2_2'].W[1].num_features == 32
    assert backbone.shared.non_local['layer3_3'].W[1].num_features == 64

    # each block runs right after its bottleneck: record the call order
    calls = []
    for name, module in backbone.shared.named_modules():
        if name in ('layer2.2', 'layer2.3', 'layer3.5', 'non_local.layer2_2',
                    'non_local.layer2_3', 'non_local.layer3_5'):
            module.register_forward_hook(lambda m, i, o, n=name: calls.append(n))
    backbone(torch.randn(2, 3, 64, 32), torch.tensor([0, 1]))
    assert calls == ['layer2.2', 'non_local.layer2_2', 'layer2.3',
                     'non_local.layer2_3', 'layer3.5', 'non_local.layer3_5']


def test_non_local_positions_are_checked():
    with pytest.raises(ValueError, match='layer3'):
        tiny(non_local=dict(layer3=(2, )))
    with pytest.raises(ValueError, match='layer9'):
        tiny(non_local=dict(layer9=(0, )))


def test_non_local_block_is_identity_at_init_and_attends_otherwise():
    torch.manual_seed(0)
    block = NonLocal2d(4, inter_channels=2)
    x = torch.randn(1, 4, 2, 2)
    torch.testing.assert_close(block(x), x)

    # Embedded Gaussian written out position by position on a 2x2 map.
    block.eval()
    with torch.no_grad():
        block.W[1].weight.fill_(1.)
    positions = x.flatten(2)[0].t()  # 4 positions x 4 channels

    def conv(layer, v):
        return layer.weight[:, :, 0, 0] @ v + layer.bias

    expected = torch.empty_like(positions)
    for i in range(4):
        scores = torch.stack([conv(block.theta, positions[i]) @ conv(block.phi, positions[j])
                              for j in range(4)])
        weights = scores.softmax(0)
        y = sum(weights[j] * conv(block.g, positions[j]) for j in range(4))
        bn = block.W[1]
        w_y = conv(block.W[0], y)
        expected[i] = (w_y - bn.running_mean) / torch.sqrt(bn.running_var + bn.eps) \
            * bn.weight + bn.bias + positions[i]
    with torch.no_grad():
        out = block(x)
    torch.testing.assert_close(out.flatten(2)[0].t(), expected, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match='mode'):
        NonLocal2d(4, mode='gaussian')


def test_dot_product_non_local_equals_the_position_by_position_sum():
    torch.manual_seed(0)
    block = NonLocal2d(4, inter_channels=1, mode='dot_product').eval()
    with torch.no_grad():
        block.W[1].weight.fill_(1.)
    x = torch.randn(2, 4, 3, 2)

    def conv(layer, v):
        return layer.weight[:, :, 0, 0] @ v + layer.bias

    bn = block.W[1]
    for b in range(2):
        positions = x[b].flatten(1).t()  # 6 positions x 4 channels
        n = positions.size(0)
        expected = torch.empty_like(positions)
        for i in range(n):
            # f(x_i, x_j) = theta_i . phi_j / N, summed against g_j
            y = sum(conv(block.theta, positions[i]) @ conv(block.phi, positions[j]) / n
                    * conv(block.g, positions[j]) for j in range(n))
            expected[i] = (conv(block.W[0], y) - bn.running_mean) / torch.sqrt(
                bn.running_var + bn.eps) * bn.weight + bn.bias + positions[i]
        with torch.no_grad():
            out = block(x[b:b + 1])
        torch.testing.assert_close(out[0].flatten(1).t(), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize('inter_channels', [1, 2])
@pytest.mark.parametrize('mode', NonLocal2d.modes)
def test_non_local_block_keeps_the_channels_last_layout(mode, inter_channels):
    # AGW's one inner channel makes y and W's weights fit either layout; an
    # NCHW output would push every later layer into layout conversions
    torch.manual_seed(0)
    block = NonLocal2d(8, inter_channels=inter_channels, mode=mode)
    block = block.to(memory_format=torch.channels_last)
    with torch.no_grad():
        block.W[1].weight.fill_(1.)
    x = torch.randn(2, 8, 6, 4)
    out = block(x.contiguous(memory_format=torch.channels_last))
    assert out.is_contiguous(memory_format=torch.channels_last)
    assert not out.is_contiguous()
    torch.testing.assert_close(out, block(x))
    assert block(x).is_contiguous()


def test_channels_last_resnet50_stays_channels_last_through_its_non_local_blocks():
    backbone = TwoStreamResNet(
        depth=50, base_channels=8, non_local=dict(layer2=(2, 3), layer3=(3, 4, 5)),
        non_local_cfg=dict(mode='dot_product', inter_channels=1))
    backbone = backbone.to(memory_format=torch.channels_last)
    seen = []
    for block in backbone.shared.layer4:
        block.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    x = torch.randn(2, 3, 64, 32).contiguous(memory_format=torch.channels_last)
    (out, ) = backbone(x, torch.tensor([VIS, IR]))
    assert all(t.is_contiguous(memory_format=torch.channels_last) for t in seen)
    assert out.is_contiguous(memory_format=torch.channels_last)
