"""MCLNet losses: eqs. 1, 2, 5/6 against values worked out by hand."""
import math

import pytest
import torch

from vireid.models.losses.mclnet_losses import (
    MarginalCenterAggregationLoss, ModalityClassificationLoss, ModalityConfusionLoss,
    center_aggregation_term, center_separation_term,
    marginal_center_aggregation_loss, modality_accuracy, modality_classification_loss,
    modality_confusion_loss)

# Tiny 2-d batch used by the eq. 5 tests.
# centers: c0 = (0, 0), c1 = (3, 0), c2 = (0, 2) (class 2 not in the batch)
# samples (label): f1 = (1, 0) (0), f2 = (0, 2) (0), f3 = (3, 1) (1), f4 = (3, 3) (1)
# ||f - c_y||^2: f1 -> 1, f2 -> 4, f3 -> 1, f4 -> 9
# nearest sample to its own center: class 0 -> f1 (1), class 1 -> f3 (1)
CENTERS = torch.tensor([[0., 0.], [3., 0.], [0., 2.]])
FEATS = torch.tensor([[1., 0.], [0., 2.], [3., 1.], [3., 3.]])
LABELS = torch.tensor([0, 0, 1, 1])


def test_aggregation_term_by_hand():
    # sigma = 2: [1-1-2]+ = 0, [4-1-2]+ = 1, [1-1-2]+ = 0, [9-1-2]+ = 6 -> 7 / 4
    assert center_aggregation_term(FEATS, LABELS, CENTERS, sigma=2.0).item() == pytest.approx(1.75)
    # authors' order (hinge of the batch mean): (-2 + 1 - 2 + 6) / 4 = 0.75
    value = center_aggregation_term(FEATS, LABELS, CENTERS, sigma=2.0, hinge='batch')
    assert value.item() == pytest.approx(0.75)
    # a large margin switches every sample off
    assert center_aggregation_term(FEATS, LABELS, CENTERS, sigma=8.0).item() == 0.0


def test_separation_term_by_hand():
    # rho = 10. ||c0 - c1||^2 = 9, ||c0 - c2||^2 = 4, ||c1 - c2||^2 = 13
    # batch negatives: each sample's nearest other center is at 9 -> [10 - 9]+ = 1
    assert center_separation_term(LABELS, CENTERS, rho=10.0).item() == pytest.approx(1.0)
    # all negatives: class 0 -> min(9, 4) = 4 -> 6; class 1 -> min(9, 13) = 9 -> 1
    # (6 + 6 + 1 + 1) / 4 = 3.5
    value = center_separation_term(LABELS, CENTERS, rho=10.0, negatives='all')
    assert value.item() == pytest.approx(3.5)
    # batch hinge over all negatives (the authors' code): [10 - (4+4+9+9)/4]+ = 3.5
    value = center_separation_term(LABELS, CENTERS, rho=10.0, hinge='batch', negatives='all')
    assert value.item() == pytest.approx(3.5)
    # rho = 7: sample hinge [7-4]+ = 3 twice, [7-9]+ = 0 twice -> 1.5;
    # batch hinge: [7 - 6.5]+ = 0.5
    value = center_separation_term(LABELS, CENTERS, 7.0, negatives='all')
    assert value.item() == pytest.approx(1.5)
    value = center_separation_term(LABELS, CENTERS, 7.0, hinge='batch', negatives='all')
    assert value.item() == pytest.approx(0.5)


def test_separation_term_single_class_batch_is_zero():
    labels = torch.tensor([1, 1])
    assert center_separation_term(labels, CENTERS, rho=10.0).item() == 0.0
    assert center_separation_term(labels, CENTERS, rho=10.0, hinge='batch').item() == 0.0
    # but with every center as a negative class 1 still sees c0 (9) and c2 (13): 1
    value = center_separation_term(labels, CENTERS, 10.0, negatives='all')
    assert value.item() == pytest.approx(1.0)


def test_eq5_total_by_hand():
    # 1.75 (aggregation, sigma 2) + 1 (separation, rho 10, batch negatives)
    value = marginal_center_aggregation_loss(FEATS, LABELS, CENTERS, sigma=2.0, rho=10.0)
    assert value.item() == pytest.approx(2.75)
    # the authors' variant: 0.75 + 3.5
    value = marginal_center_aggregation_loss(
        FEATS, LABELS, CENTERS, sigma=2.0, rho=10.0, hinge='batch', negatives='all')
    assert value.item() == pytest.approx(4.25)


def test_eq5_gradient_reaches_features_nearest_sample_and_centers():
    feats = FEATS.clone().requires_grad_()
    centers = CENTERS.clone().requires_grad_()
    marginal_center_aggregation_loss(feats, LABELS, centers, sigma=2.0, rho=10.0).backward()
    # only f2 (hinge 1 > 0) and f4 (6 > 0) are active. d/df4 of (||f4-c1||^2 - ||f3-c1||^2)/4
    # = 2 (f4 - c1) / 4 = (0, 1.5); f3 is f^o of class 1 and is pushed away: -2 (f3 - c1) / 4
    assert torch.allclose(feats.grad[3], torch.tensor([0., 1.5]))
    assert torch.allclose(feats.grad[2], torch.tensor([0., -0.5]))
    # f2 active with f1 as f^o: f2 -> 2 (0, 2) / 4 = (0, 1), f1 -> -2 (1, 0) / 4
    assert torch.allclose(feats.grad[1], torch.tensor([0., 1.]))
    assert torch.allclose(feats.grad[0], torch.tensor([-0.5, 0.]))
    # c2 is in no batch term
    assert torch.equal(centers.grad[2], torch.zeros(2))
    assert centers.grad[:2].abs().sum() > 0


def test_eq5_gradcheck():
    torch.manual_seed(0)
    feats = torch.randn(6, 3, dtype=torch.double, requires_grad=True)
    centers = torch.randn(4, 3, dtype=torch.double, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 3, 3])
    for hinge in ('sample', 'batch'):
        for negatives in ('batch', 'all'):
            assert torch.autograd.gradcheck(
                lambda f, c: marginal_center_aggregation_loss(
                    f, labels, c, sigma=0.1, rho=20.0, hinge=hinge, negatives=negatives),
                (feats, centers))


def test_eq5_bad_input():
    with pytest.raises(ValueError, match='hinge'):
        marginal_center_aggregation_loss(FEATS, LABELS, CENTERS, hinge='mean')
    with pytest.raises(ValueError, match='negatives'):
        marginal_center_aggregation_loss(FEATS, LABELS, CENTERS, negatives='global')
    with pytest.raises(ValueError, match='centers'):
        marginal_center_aggregation_loss(FEATS, LABELS, torch.zeros(3, 5))
    with pytest.raises(ValueError, match='labels'):
        marginal_center_aggregation_loss(FEATS, LABELS[:3], CENTERS)


def test_confusion_loss_by_hand():
    # logits (0, 0): p = (1/2, 1/2), L_e = -(1/2 ln 1/2 + 1/2 ln 1/2) = ln 2
    # logits (ln 3, 0): p = (3/4, 1/4), L_e = -(1/2 ln 3/4 + 1/2 ln 1/4) = ln 4 - ln 3 / 2
    logits = torch.tensor([[0., 0.], [math.log(3.), 0.]], requires_grad=True)
    expected = (math.log(2) + math.log(4) - 0.5 * math.log(3)) / 2
    loss = modality_confusion_loss(logits)
    assert loss.item() == pytest.approx(expected, rel=1e-6)
    loss.backward()
    # dL/dz = (p - o) / N: row 1 (0, 0); row 2 (1/4, -1/4) / 2
    assert torch.allclose(logits.grad, torch.tensor([[0., 0.], [0.125, -0.125]]))
    # an explicit target equal to the default gives the same number
    assert modality_confusion_loss(logits, [0.5, 0.5]).item() == pytest.approx(expected, rel=1e-6)
    # a one-hot target is the ordinary cross-entropy: -ln 3/4 for the second row
    value = modality_confusion_loss(logits[1:], [1.0, 0.0])
    assert value.item() == pytest.approx(-math.log(0.75), rel=1e-6)
    with pytest.raises(ValueError, match='one value per logit'):
        modality_confusion_loss(logits, [1.0, 0.0, 0.0])


def test_classification_loss_and_accuracy_by_hand():
    # p = (3/4, 1/4) for both rows; visible (0): -ln 3/4, infrared (1): -ln 1/4
    logits = torch.tensor([[math.log(3.), 0.], [math.log(3.), 0.]])
    modality = torch.tensor([0, 1])
    expected = (-math.log(0.75) + math.log(4.)) / 2
    value = modality_classification_loss(logits, modality)
    assert value.item() == pytest.approx(expected, rel=1e-6)
    assert ModalityClassificationLoss(loss_weight=2.)(logits, modality).item() == pytest.approx(
        2 * expected, rel=1e-6)
    acc = modality_accuracy(logits, modality)
    assert torch.is_tensor(acc) and acc.item() == 0.5


def test_confusion_module_weight_and_target():
    logits = torch.zeros(3, 2)
    assert ModalityConfusionLoss(loss_weight=3.)(logits).item() == pytest.approx(3 * math.log(2))
    # logits (0, 0) -> p = (1/2, 1/2): -(0.9 ln 1/2 + 0.1 ln 1/2) = ln 2 whatever the target
    assert ModalityConfusionLoss(target=(0.9, 0.1))(logits).item() == pytest.approx(math.log(2))
    # logits (ln 3, 0) -> -(0.9 ln 3/4 + 0.1 ln 1/4)
    logits = torch.tensor([[math.log(3.), 0.]])
    expected = -(0.9 * math.log(0.75) + 0.1 * math.log(0.25))
    assert ModalityConfusionLoss(target=(0.9, 0.1))(logits).item() == pytest.approx(expected)


def test_center_module_parameter_and_batch_mean_modes():
    loss = MarginalCenterAggregationLoss(num_classes=3, feat_dim=2, sigma=2.0, rho=10.0,
                                         loss_weight=0.5)
    assert isinstance(loss.centers, torch.nn.Parameter) and loss.centers.shape == (3, 2)
    with torch.no_grad():
        loss.centers.copy_(CENTERS)
    assert loss(FEATS, LABELS).item() == pytest.approx(0.5 * 2.75)

    means = MarginalCenterAggregationLoss(num_classes=3, feat_dim=2, sigma=0.0, rho=10.0,
                                          loss_weight=1.0, center_mode='batch_mean')
    assert list(means.parameters()) == []
    # batch means: class 0 -> (0.5, 1), class 1 -> (3, 2); distances to them:
    # f1 0.25+1 = 1.25, f2 0.25+1 = 1.25, f3 0+1 = 1, f4 0+1 = 1 -> aggregation 0
    # ||m0 - m1||^2 = 6.25 + 1 = 7.25 -> separation 10 - 7.25 = 2.75
    assert means(FEATS, LABELS).item() == pytest.approx(2.75)
    # 'all' negatives among batch means: class 2 has no sample, so no mean to keep apart from
    # (its empty row sits at the origin, 1.25 and 13 from the two means)
    means.negatives = 'all'
    assert means(FEATS, LABELS).item() == pytest.approx(2.75)


def test_center_module_bad_options():
    with pytest.raises(ValueError, match='center_mode'):
        MarginalCenterAggregationLoss(num_classes=3, center_mode='ema')
    with pytest.raises(ValueError, match='num_classes'):
        MarginalCenterAggregationLoss(num_classes=0)
