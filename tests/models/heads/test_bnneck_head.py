"""BNNeckHead: frozen BN bias, bias-free classifier, losses and test features."""
import math

import pytest
import torch

from vireid.models.heads import BNNeckHead
from vireid.models.losses import weighted_regularization_triplet_loss
from vireid.registry import MODELS
from vireid.structures import ReIDDataSample


def samples(labels):
    return [ReIDDataSample(metainfo=dict(gt_label=label, modality=i % 2))
            for i, label in enumerate(labels)]


def test_bn_bias_is_frozen_at_zero_and_classifier_has_no_bias():
    head = BNNeckHead(in_channels=8, num_classes=4)
    assert head.classifier.bias is None
    assert not head.bn.bias.requires_grad and not head.bn.bias.any()
    assert head.classifier.weight.std() < 0.01  # normal init, std 0.001
    optimizer = torch.optim.SGD(
        [p for p in head.parameters() if p.requires_grad], lr=1.0)
    losses = head.loss(torch.randn(8, 8), samples([0, 0, 1, 1, 2, 2, 3, 3]))
    (losses['loss_id'] + losses['loss_tri']).backward()
    optimizer.step()
    assert head.bn.bias.grad is None and not head.bn.bias.any()
    assert head.bn.weight.grad is not None


def test_loss_values():
    torch.manual_seed(0)
    head = BNNeckHead(in_channels=8, num_classes=4)
    feats = torch.randn(6, 8)
    labels = [0, 0, 1, 1, 3, 3]
    losses = head.loss(feats, samples(labels))
    assert set(losses) == {'loss_id', 'loss_tri', 'acc_id'}
    # classifier weights ~1e-3: logits ~0, so CE ~ log(num_classes)
    assert losses['loss_id'].item() == pytest.approx(math.log(4), abs=0.02)
    # the metric loss sees the features before the BN
    expected_tri = weighted_regularization_triplet_loss(feats, torch.tensor(labels))
    assert losses['loss_tri'].item() == pytest.approx(expected_tri.item(), rel=1e-6)
    assert isinstance(losses['acc_id'], torch.Tensor)
    assert not losses['acc_id'].requires_grad
    assert 0 <= losses['acc_id'].item() <= 100


def test_accuracy_counts_correct_argmax():
    head = BNNeckHead(in_channels=2, num_classes=2, loss_triplet=None)
    head.eval()
    with torch.no_grad():
        head.classifier.weight.copy_(torch.eye(2))
    # BN in eval with default stats is ~identity: logits ~ feats
    losses = head.loss_by_feat(torch.tensor([[2., 0.], [0., 2.], [2., 0.], [2., 0.]]),
                               torch.tensor([0, 1, 1, 1]))
    assert 'loss_tri' not in losses
    assert losses['acc_id'].item() == pytest.approx(50.0)


def test_label_smoothing_config():
    head = BNNeckHead(
        in_channels=4, num_classes=3,
        loss_cls=dict(type='LabelSmoothLoss', label_smooth_val=0.1, mode='original'),
        loss_triplet=dict(type='TripletLoss', margin=0.3))
    with torch.no_grad():
        head.classifier.weight.zero_()
    losses = head.loss_by_feat(torch.randn(4, 4), torch.tensor([0, 0, 2, 2]))
    # zero logits: every smoothed target costs log(3) whatever the smoothing
    assert losses['loss_id'].item() == pytest.approx(math.log(3), abs=1e-5)


def test_predict_returns_feature_before_or_after_bn():
    feats = torch.randn(4, 8) * 3 + 5
    before = BNNeckHead(8, 2, neck_feat='before')
    after = BNNeckHead(8, 2, neck_feat='after')
    after.train()
    torch.testing.assert_close(before.predict(feats), feats)
    out = after.predict(feats)
    # training-mode BN: every channel centred on zero
    torch.testing.assert_close(out.mean(0), torch.zeros(8), atol=1e-5, rtol=0)
    with pytest.raises(ValueError, match='neck_feat'):
        BNNeckHead(8, 2, neck_feat='middle')


def test_registered():
    head = MODELS.build(dict(type='BNNeckHead', in_channels=4, num_classes=2))
    assert isinstance(head, BNNeckHead)
    assert head(torch.randn(3, 4)).shape == (3, 2)
