"""WRT and batch-hard triplet against values worked out by hand on points in 2-D."""
import math

import pytest
import torch

from vireid.models.losses import (TripletLoss, WRTLoss, euclidean_distance,
                                  hard_triplet_loss,
                                  weighted_regularization_triplet_loss)
from vireid.registry import MODELS


def softplus(x):
    return math.log1p(math.exp(x))


def test_euclidean_distance_is_pairwise_l2():
    x = torch.tensor([[0., 0.], [3., 4.]])
    dist = euclidean_distance(x, x)
    assert dist[0, 1].item() == pytest.approx(5.0)
    assert dist[1, 0].item() == pytest.approx(5.0)
    assert dist[0, 0].item() == pytest.approx(0.0, abs=1e-5)


def test_euclidean_distance_stays_float32_under_autocast():
    x = torch.tensor([[100., 0.], [100.25, 0.]])
    with torch.autocast('cpu', dtype=torch.bfloat16):
        dist = euclidean_distance(x, x)
    assert dist.dtype == torch.float32
    # a bf16 matmul (8 bits of mantissa) would round 100.25 away
    assert dist[0, 1].item() == pytest.approx(0.25, abs=1e-3)


def test_wrt_three_points_by_hand():
    # A(0,0) and B(3,0) share label 0, C(0,4) has label 1:
    # AB = 3, AC = 4, BC = 5; the anchor is its own positive at distance 0.
    feats = torch.tensor([[0., 0.], [3., 0.], [0., 4.]])
    labels = torch.tensor([0, 0, 1])
    # Anchors A and B: positives {0, 3} weighted by softmax(0, 3).
    positive_ab = 3 * math.exp(3) / (math.exp(0) + math.exp(3))
    loss_a = softplus(positive_ab - 4)   # only negative: C at 4
    loss_b = softplus(positive_ab - 5)   # only negative: C at 5
    # Anchor C: positive only itself (0); negatives 4, 5 weighted by softmax(-4, -5).
    negative_c = (4 * math.exp(-4) + 5 * math.exp(-5)) / (math.exp(-4) + math.exp(-5))
    loss_c = softplus(0 - negative_c)
    expected = (loss_a + loss_b + loss_c) / 3
    loss = weighted_regularization_triplet_loss(feats, labels)
    assert loss.item() == pytest.approx(expected, abs=1e-4)
    assert WRTLoss(loss_weight=2.0)(feats, labels).item() == pytest.approx(
        2 * expected, abs=2e-4)


def test_wrt_single_identity_batch_has_no_negative_term():
    # Two points of one identity 1 apart: d_p = softmax-weighted {0, 1},
    # d_n = 0 (no negatives) -> softplus(d_p).
    feats = torch.tensor([[0., 0.], [1., 0.]])
    labels = torch.tensor([5, 5])
    positive = 1 * math.exp(1) / (1 + math.exp(1))
    loss = weighted_regularization_triplet_loss(feats, labels)
    assert loss.item() == pytest.approx(softplus(positive), abs=1e-4)


def test_wrt_gradient_matches_finite_differences():
    torch.manual_seed(0)
    feats = torch.randn(6, 3, dtype=torch.double, requires_grad=True)
    labels = torch.tensor([0, 0, 1, 1, 2, 2])
    assert torch.autograd.gradcheck(
        lambda f: weighted_regularization_triplet_loss(f, labels), (feats, ))


def test_wrt_pulls_positives_together():
    feats = torch.tensor([[0., 0.], [3., 0.], [0., 4.]], requires_grad=True)
    weighted_regularization_triplet_loss(feats, torch.tensor([0, 0, 1])).backward()
    # Descending the gradient moves B (label 0) towards A: x decreases.
    assert feats.grad[1, 0] > 0


def test_hard_triplet_four_points_by_hand():
    # A(0,0), B(1,0) label 0; C(0,2), D(3,0) label 1.
    # AB=1 AC=2 AD=3 BC=sqrt5 BD=2 CD=sqrt13.
    feats = torch.tensor([[0., 0.], [1., 0.], [0., 2.], [3., 0.]])
    labels = torch.tensor([0, 0, 1, 1])
    # A: 1 - min(2, 3) + .3 < 0 -> 0; B: 1 - min(sqrt5, 2) + .3 < 0 -> 0;
    # C: sqrt13 - min(2, sqrt5) + .3; D: sqrt13 - min(3, 2) + .3.
    expected = 2 * (math.sqrt(13) - 2 + 0.3) / 4
    assert hard_triplet_loss(feats, labels, margin=0.3).item() == pytest.approx(
        expected, abs=1e-5)
    module = MODELS.build(dict(type='TripletLoss', margin=0.3, loss_weight=0.5))
    assert isinstance(module, TripletLoss)
    assert module(feats, labels).item() == pytest.approx(expected / 2, abs=1e-5)


def test_hard_triplet_without_negatives_is_zero():
    feats = torch.tensor([[0., 0.], [1., 0.]], requires_grad=True)
    loss = hard_triplet_loss(feats, torch.tensor([1, 1]))
    loss.backward()
    assert loss.item() == 0.0
    assert torch.isfinite(feats.grad).all()


def test_losses_reject_mismatched_labels():
    with pytest.raises(ValueError, match='labels'):
        weighted_regularization_triplet_loss(torch.zeros(3, 2), torch.zeros(4))
    with pytest.raises(ValueError, match='labels'):
        hard_triplet_loss(torch.zeros(3, 2), torch.zeros(2))


def test_registered_wrt_builds():
    assert isinstance(MODELS.build(dict(type='WRTLoss')), WRTLoss)
