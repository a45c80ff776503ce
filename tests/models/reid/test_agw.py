"""AGW on a tiny depth-18 narrow model with 64x32 inputs: all modes, flip test, configs."""
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.optim import OptimWrapper

from vireid.models import AGW
from vireid.registry import MODELS
from vireid.structures import ReIDDataSample

CONFIGS = Path(__file__).resolve().parents[3] / 'configs' / 'agw'


def tiny_agw(**kwargs):
    cfg = dict(
        type='AGW',
        backbone=dict(type='TwoStreamResNet', depth=18, base_channels=8,
                      non_local=dict(layer2=(1, ), layer3=(1, ))),
        neck=dict(type='GeneralizedMeanPooling', p=3., p_trainable=False),
        head=dict(type='BNNeckHead', in_channels=64, num_classes=3))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def batch(n=6, seed=0):
    generator = torch.Generator().manual_seed(seed)
    images = [torch.randint(0, 256, (3, 64, 32), dtype=torch.uint8, generator=generator)
              for _ in range(n)]
    samples = [ReIDDataSample(metainfo=dict(gt_label=i % 3, pid=i % 3, camid=1 + i % 2,
                                            modality=i % 2))
               for i in range(n)]
    return dict(inputs=images, data_samples=samples)


def test_loss_mode_trains_both_stems():
    torch.manual_seed(0)
    model = tiny_agw()
    model.init_weights()
    data = model.data_preprocessor(batch(), training=True)
    losses = model(**data, mode='loss')
    assert set(losses) == {'loss_id', 'loss_tri', 'acc_id'}
    assert all(torch.isfinite(v) for v in losses.values())
    parsed, log_vars = model.parse_losses(losses)
    torch.testing.assert_close(parsed, losses['loss_id'] + losses['loss_tri'])
    parsed.backward()
    assert model.backbone.visible.conv1.weight.grad.abs().sum() > 0
    assert model.backbone.infrared.conv1.weight.grad.abs().sum() > 0
    assert model.head.classifier.weight.grad.abs().sum() > 0


def test_train_step_lowers_the_loss_on_a_fixed_batch():
    torch.manual_seed(0)
    model = tiny_agw()
    model.init_weights()
    optim_wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9))
    data = batch()
    first = model.train_step(data, optim_wrapper)['loss']
    for _ in range(3):
        last = model.train_step(data, optim_wrapper)['loss']
    assert last < first


def test_predict_sets_unit_norm_features_and_tensor_mode_returns_them():
    torch.manual_seed(0)
    model = tiny_agw()
    model.eval()
    data = model.data_preprocessor(batch(), training=False)
    with torch.no_grad():
        results = model(**data, mode='predict')
        feats = model(**data, mode='tensor')
    assert len(results) == 6
    assert feats.shape == (6, 64)
    for sample, feat in zip(results, feats):
        assert sample.pred_feature.shape == (64, )
        assert sample.pred_feature.norm().item() == pytest.approx(1.0, abs=1e-5)
        torch.testing.assert_close(sample.pred_feature, feat / feat.norm())
        assert sample.modality in (0, 1)  # labels survive for the metric


def test_val_step_path():
    model = tiny_agw()
    model.eval()
    outputs = model.val_step(batch(4))
    assert all(o.pred_feature.norm().item() == pytest.approx(1.0, abs=1e-5) for o in outputs)


def test_flip_test_averages_image_and_mirror():
    torch.manual_seed(0)
    model = tiny_agw(flip_test=True)
    model.eval()
    data = model.data_preprocessor(batch(4), training=False)
    mirrored = dict(inputs=data['inputs'].flip(-1), data_samples=data['data_samples'])
    with torch.no_grad():
        plain = model(**data, mode='tensor')
        flipped = model(**mirrored, mode='tensor')
        feats = torch.stack([s.pred_feature for s in model(**data, mode='predict')])
        feats_of_mirror = torch.stack(
            [s.pred_feature for s in model(**mirrored, mode='predict')])
    expected = torch.nn.functional.normalize(plain + flipped, dim=1)
    torch.testing.assert_close(feats, expected)
    # with flip averaging an image and its mirror get the same feature
    torch.testing.assert_close(feats, feats_of_mirror)
    assert not torch.allclose(plain, flipped)


def test_bad_calls_raise():
    model = tiny_agw()
    inputs = torch.zeros(2, 3, 64, 32)
    with pytest.raises(ValueError, match='data_samples'):
        model(inputs, None, mode='tensor')
    with pytest.raises(ValueError, match='mode'):
        model(inputs, batch(2)['data_samples'], mode='train')


@pytest.mark.parametrize('name, num_classes, depth', [
    ('agw_r50_sysu', 395, 50), ('agw_r50_regdb', 206, 50),
    ('agw_r50_llcm', 713, 50), ('agw_r50_sysu_no_erasing', 395, 50),
    ('base_r50_sysu', 395, 50), ('agw_r18_synthetic', 320, 18)])
def test_configs(name, num_classes, depth):
    cfg = Config.fromfile(CONFIGS / f'{name}.py')
    assert cfg.model.head.num_classes == num_classes
    assert cfg.model.backbone.depth == depth
    assert cfg.model.backbone.split == 'stem' and cfg.model.backbone.last_stride == 1
    erasing = any(t['type'] == 'RandomErasing'
                  for t in cfg.train_dataloader.dataset.pipeline)
    assert erasing == (name not in ('agw_r50_sysu_no_erasing', 'base_r50_sysu'))
    if name == 'base_r50_sysu':
        assert cfg.model.backbone.non_local is None
        assert cfg.model.neck.type == 'GlobalAveragePooling'
        assert cfg.model.head.loss_triplet.type == 'TripletLoss'
    else:
        assert cfg.model.head.loss_triplet.type == 'WRTLoss'


def test_r50_config_builds_the_published_architecture():
    cfg = Config.fromfile(CONFIGS / 'agw_r50_sysu.py')
    model = MODELS.build(cfg.model)  # no init_weights: nothing is downloaded
    assert isinstance(model, AGW)
    assert model.backbone.out_channels == 2048 == model.head.in_channels
    # the reference code's rule: after the last two of layer2's four
    # bottlenecks and the last three of layer3's six
    assert set(model.backbone.shared.non_local) == {
        f'layer{stage}_{blocks - 1 - i}'
        for stage, blocks, count in ((2, 4, 2), (3, 6, 3)) for i in range(count)}
    assert model.backbone.init_cfg['checkpoint'] == 'torchvision://resnet50'


def test_synthetic_config_builds_and_runs():
    cfg = Config.fromfile(CONFIGS / 'agw_r18_synthetic.py')
    model = MODELS.build(cfg.model)
    model.init_weights()
    data = model.data_preprocessor(
        dict(inputs=[torch.zeros(3, 96, 48, dtype=torch.uint8)] * 4,
             data_samples=batch(4)['data_samples']), training=True)
    losses = model(**data, mode='loss')
    # near-uniform logits over the 320 classes of 400 synthetic ids at init
    assert losses['loss_id'].item() == pytest.approx(
        torch.log(torch.tensor(320.)).item(), abs=0.05)


def test_channels_last_preprocessor_puts_conv_weights_in_channels_last():
    model = MODELS.build(dict(
        type='AGW',
        data_preprocessor=dict(type='ReIDDataPreprocessor', channels_last=True),
        backbone=dict(type='TwoStreamResNet', depth=18, base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='BNNeckHead', in_channels=64, num_classes=3)))
    conv = model.backbone.visible.conv1.weight
    assert conv.is_contiguous(memory_format=torch.channels_last)
    assert not conv.is_contiguous()


@pytest.mark.gpu
def test_cuda_graph_training_under_bf16_autocast_follows_the_eager_losses():
    from vireid.engine.optimizers import AutocastOptimWrapper
    losses = {}
    for cuda_graph in (False, True):
        torch.manual_seed(0)
        model = tiny_agw(data_preprocessor=dict(type='ReIDDataPreprocessor',
                                                channels_last=True))
        model.backbone.cuda_graph = cuda_graph
        model.init_weights()
        model = model.cuda()
        wrapper = AutocastOptimWrapper(torch.optim.SGD(model.parameters(), lr=0.05,
                                                       momentum=0.9))
        losses[cuda_graph] = torch.stack([
            model.train_step(batch(seed=s), wrapper)['loss'] for s in range(4)])
    assert len(model.backbone._graphs) == 1
    torch.testing.assert_close(losses[True], losses[False], rtol=2e-2, atol=1e-3)
