"""FMCNet equations checked against values worked out by hand on 2-D centers."""
import math

import pytest
import torch

from vireid.models.losses.centers import identity_centers, modality_centers
from vireid.models.losses.fmcnet_losses import (
    CrossModalityCenterLoss, ModalityDecompositionLoss, decorrelation_loss,
    discriminator_accuracy, discriminator_loss, feature_consistency_loss,
    generator_adversarial_loss, identity_consistency_loss, per_modality_cross_entropy,
    shared_separation_loss, specific_separation_loss)

T = torch.tensor

# Eq. 4 example (one modality, P = 2):
#   C_sp = (0,0), (3,4);   C_sh = (0,1), (6,8)
# p=1: max_d |C_sp^1 - C_sp^d| = max(0, 5) = 5; min_j |C_sp^1 - C_sh^j| = min(1, 10) = 1
#      -> max(5 - 1 + 1, 0) = 5
# p=2: max_d = 5; min_j = min(|(3,3)| = sqrt(18), |(-3,-4)| = 5) = sqrt(18)
#      -> 5 - sqrt(18) + 1
# L_dc = 11 - sqrt(18)
DC_SP = T([[0., 0.], [3., 4.]])
DC_SH = T([[0., 1.], [6., 8.]])
DC_VALUE = 11 - math.sqrt(18)

# Eq. 5 example (P = 3): C_sp = (0,0), (0.3,0.4), (0,2)
# p=1: nearest other 0.5 -> 0.7 - 0.5 = 0.2
# p=2: others 0.5 and |(0.3,-1.6)| = 1.63 -> 0.2
# p=3: others 2 and 1.63 -> 0.7 - 1.63 < 0 -> 0
# L_sps = 0.4
SPS = T([[0., 0.], [0.3, 0.4], [0., 2.]])
SPS_VALUE = 0.4

# Eq. 6 example (P = 3, alpha = 2, rho3 = 0.7):
#   V1 = (0,0), I1 = (0,0.1);  V2 = (3,0), I2 = (0.5,0);  V3 = I3 = (0,3)
# p=1: pull 2 * 0.1 = 0.2
#      V1's nearest other-identity center (both modalities): I2 at 0.5 -> 0.2
#      (I1 at 0.1 is the same identity and must not count)
#      I1's nearest: I2 at sqrt(0.25 + 0.01) = sqrt(0.26) -> 0.7 - sqrt(0.26)
# p=2: pull 2 * 2.5 = 5; V2's nearest: V1 at 3 -> 0; I2's nearest: V1 at 0.5 -> 0.2
# p=3: pull 0; V3 / I3 nearest: I1 at 2.9 -> 0
# L_shs = 0.2 + 0.2 + 0.7 - sqrt(0.26) + 5 + 0.2 = 6.3 - sqrt(0.26)
SHS_V = T([[0., 0.], [3., 0.], [0., 3.]])
SHS_I = T([[0., 0.1], [0.5, 0.], [0., 3.]])
SHS_VALUE = 6.3 - math.sqrt(0.26)

# Eq. 4 example with P = 3, where the farthest and the nearest other identity
# differ:  C_sp = (0,0), (3,0), (0,4)  (pairwise 3, 4, 5);
#          C_sh = (0,1), (3,1), (0,5)  (each C_sp^p is 1 from C_sh^p, farther from the rest)
# p=1: max_d = max(3, 4) = 4; min_j = 1 -> 4 - 1 + 1 = 4
# p=2: max_d = max(3, 5) = 5; min_j = 1 -> 5
# p=3: max_d = max(4, 5) = 5; min_j = 1 -> 5
# L_dc = 14  (a min over d != p would give 3 + 3 + 4 = 10)
DC3_SP = T([[0., 0.], [3., 0.], [0., 4.]])
DC3_SH = T([[0., 1.], [3., 1.], [0., 5.]])
DC3_VALUE = 14.0


def test_decorrelation_loss_eq4_by_hand():
    assert decorrelation_loss(DC_SP, DC_SH, margin=1.0).item() == pytest.approx(DC_VALUE, abs=1e-5)
    # shared centers far from every specific one: both hinges are inactive
    far = T([[100., 0.], [0., 100.]])
    assert decorrelation_loss(DC_SP, far, margin=1.0).item() == 0


def test_decorrelation_loss_eq4_uses_the_farthest_specific_center():
    # eq. 4: max_d over the other identities, not the nearest one (P = 3)
    value = decorrelation_loss(DC3_SP, DC3_SH, margin=1.0)
    assert value.item() == pytest.approx(DC3_VALUE, abs=1e-5)
    # rho1 = 0.5: each of the three active hinges loses 0.5 -> 12.5
    value = decorrelation_loss(DC3_SP, DC3_SH, margin=0.5)
    assert value.item() == pytest.approx(12.5, abs=1e-5)


def test_specific_separation_loss_eq5_by_hand():
    assert specific_separation_loss(SPS, margin=0.7).item() == pytest.approx(SPS_VALUE, abs=1e-5)


def test_shared_separation_loss_eq6_by_hand():
    value = shared_separation_loss(SHS_V, SHS_I, margin=0.7, alpha=2.0)
    assert value.item() == pytest.approx(SHS_VALUE, abs=1e-5)
    # alpha only scales the pull terms (0.1 + 2.5 + 0 = 2.6 per unit of alpha)
    value0 = shared_separation_loss(SHS_V, SHS_I, margin=0.7, alpha=0.0)
    assert value0.item() == pytest.approx(SHS_VALUE - 2 * 2.6, abs=1e-5)


def test_valid_mask_ignores_rows_as_if_absent():
    # identity 3 of the eq. 5 example marked absent: p=1 and p=2 still see each
    # other at 0.5 -> 0.2 + 0.2; an extra far-away absent row changes nothing
    valid = T([True, True, False])
    assert specific_separation_loss(SPS, 0.7, valid).item() == pytest.approx(0.4, abs=1e-5)
    # drop identity 2 instead: 1 and 3 are 2 apart -> no hinge at all
    valid = T([True, False, True])
    assert specific_separation_loss(SPS, 0.7, valid).item() == 0
    # eq. 6 with identity 2 absent: p=1 pull 0.2, V1 nearest V3/I3 at 3 -> 0,
    # I1 nearest at 2.9 -> 0; p=3 pull 0, nearest 2.9 -> 0: total 0.2
    valid = T([True, False, True])
    value = shared_separation_loss(SHS_V, SHS_I, 0.7, 2.0, valid)
    assert value.item() == pytest.approx(0.2, abs=1e-5)
    # eq. 4 with an absent third row at the origin: it must not win the min
    sp = torch.cat([DC_SP, T([[0., 0.]])])
    sh = torch.cat([DC_SH, T([[0., 0.]])])
    value = decorrelation_loss(sp, sh, 1.0, T([True, True, False]))
    assert value.item() == pytest.approx(DC_VALUE, abs=1e-5)


def test_coinciding_centers_give_finite_gradients():
    centers = torch.zeros(3, 2, requires_grad=True)
    loss = (specific_separation_loss(centers) + decorrelation_loss(centers, centers) +
            shared_separation_loss(centers, centers))
    loss.backward()
    assert torch.isfinite(centers.grad).all()


def test_identity_centers_eq3_and_modality_split():
    feats = T([[1., 0.], [3., 2.], [5., 5.], [0., 4.]])
    labels = T([0, 0, 2, 0])
    modality = T([0, 0, 0, 1])
    centers, present = identity_centers(feats, labels, num_classes=3)
    # identity 0: mean of (1,0), (3,2), (0,4) = (4/3, 2); identity 2: (5,5); 1 absent
    assert torch.allclose(centers, T([[4 / 3, 2.], [0., 0.], [5., 5.]]))
    assert present.tolist() == [True, False, True]
    cv, pv, ci, pi = modality_centers(feats, labels, modality, num_classes=3)
    assert torch.allclose(cv, T([[2., 1.], [0., 0.], [5., 5.]]))  # visible id 0: (1,0),(3,2)
    assert torch.allclose(ci, T([[0., 4.], [0., 0.], [0., 0.]]))
    assert pv.tolist() == [True, False, True] and pi.tolist() == [True, False, False]


def test_per_modality_cross_entropy_eq8():
    # visible: logits (0,0) -> log 2; (ln3, 0) with label 0 -> -log(3/4)
    # infrared: (0, ln3) with label 0 -> -log(1/4) = log 4
    logits = T([[0., 0.], [math.log(3), 0.], [0., math.log(3)]])
    labels = T([1, 0, 0])
    modality = T([0, 0, 1])
    expected = (math.log(2) + math.log(4 / 3)) / 2 + math.log(4)
    value = per_modality_cross_entropy(logits, labels, modality)
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_discriminator_loss_eq12_d_side():
    # real logits 0 and ln3: -log sigmoid -> log 2, log(4/3); fake ln3 labelled
    # 0: -log(1 - 3/4) = log 4; the masked-out fake (logit 5) must not count
    real = T([0., math.log(3)])
    fake = T([math.log(3), 5.])
    value = discriminator_loss(real, fake, fake_weight=T([1., 0.]))
    expected = (math.log(2) + math.log(4 / 3)) / 2 + math.log(4)
    assert value.item() == pytest.approx(expected, abs=1e-6)


def test_generator_adversarial_loss_eq12_non_saturating():
    # fake logits 0 and -ln3: -log sigmoid -> log 2 and log 4; mean 1.5 log 2
    value = generator_adversarial_loss(T([0., -math.log(3)]))
    assert value.item() == pytest.approx(1.5 * math.log(2), abs=1e-6)


def test_generator_adversarial_loss_eq12_masked():
    # eq. 12, G side over the selected samples only: logits 0 and -ln3 kept
    # (log 2, log 4), the masked-out logit 5 must not count -> mean 1.5 log 2
    value = generator_adversarial_loss(T([0., 5., -math.log(3)]), T([1., 0., 1.]))
    assert value.item() == pytest.approx(1.5 * math.log(2), abs=1e-6)


def test_discriminator_accuracy():
    logits = T([2., -1., 0.5, -3.])
    assert discriminator_accuracy(logits, real=True).item() == pytest.approx(0.5)
    # as fakes, with the last one masked out: right on -1 only of (2, -1, 0.5)
    value = discriminator_accuracy(logits, real=False, weight=T([1., 1., 1., 0.]))
    assert value.item() == pytest.approx(1 / 3)


def test_feature_consistency_loss_eq13_l1_to_detached_center():
    generated = T([[1., 2.], [0., 0.]], requires_grad=True)
    centers = T([[0., 0.], [1., -1.]], requires_grad=True)
    # |1-0| + |2-0| = 3 and |0-1| + |0+1| = 2 -> mean 2.5
    value = feature_consistency_loss(generated, centers, reduction='sum')
    assert value.item() == pytest.approx(2.5)
    value.backward()
    assert centers.grad is None  # the real center is a fixed target
    assert torch.allclose(generated.grad, T([[0.5, 0.5], [-0.5, 0.5]]))
    # only the second sample: 2
    assert feature_consistency_loss(generated, centers, T([0., 1.]),
                                    reduction='sum').item() == pytest.approx(2.)


def test_feature_consistency_loss_mean_reduction_averages_the_channels():
    generated = T([[1., 2.], [0., 0.]], requires_grad=True)
    centers = T([[0., 0.], [1., -1.]])
    # per sample (1 + 2) / 2 = 1.5 and (1 + 1) / 2 = 1 -> mean 1.25
    value = feature_consistency_loss(generated, centers)
    assert value.item() == pytest.approx(1.25)
    value.backward()
    assert torch.allclose(generated.grad, T([[0.25, 0.25], [-0.25, 0.25]]))
    with pytest.raises(ValueError, match="reduction must be one of .* got 'max'"):
        feature_consistency_loss(generated, centers, reduction='max')


def test_identity_consistency_loss_eq14():
    logits = T([[0., 0.], [0., math.log(3)]])
    # first: log 2; second label 0: log 4; weighted to the second only
    assert identity_consistency_loss(logits, T([0, 0])).item() == pytest.approx(1.5 * math.log(2))
    value = identity_consistency_loss(logits, T([0, 0]), T([0., 1.]))
    assert value.item() == pytest.approx(math.log(4))


def _batch_from_centers(centers_v, centers_i, offset=0.25):
    """Two samples per identity and modality at center +- offset (their mean is the center)."""
    feats, labels, modality = [], [], []
    for m, centers in enumerate((centers_v, centers_i)):
        for p, c in enumerate(centers):
            for sign in (1, -1):
                feats.append(c + sign * offset)
                labels.append(p)
                modality.append(m)
    return torch.stack(feats), T(labels), T(modality)


def test_modality_decomposition_loss_module_eq7():
    # specific centers: visible = eq. 5 example, infrared = eq. 5 example shifted;
    # shared centers: the eq. 6 example. Labels run over 5 classes (3 and 4
    # absent from the batch) to check that absent rows are ignored.
    sp_v, sp_i = SPS, SPS + T([10., 10.])
    sp, labels, modality = _batch_from_centers(sp_v, sp_i)
    sh, labels2, modality2 = _batch_from_centers(SHS_V, SHS_I)
    assert torch.equal(labels, labels2) and torch.equal(modality, modality2)
    loss = ModalityDecompositionLoss(lambda_dc=0.5, lambda_sps=0.5)
    out = loss(sp, sh, labels, modality, num_classes=5)
    dc = (decorrelation_loss(sp_v, SHS_V, 1.0) + decorrelation_loss(sp_i, SHS_I, 1.0))
    assert out['loss_shs'].item() == pytest.approx(SHS_VALUE, abs=1e-4)
    assert out['loss_sps'].item() == pytest.approx(0.5 * 2 * SPS_VALUE, abs=1e-4)
    assert out['loss_dc'].item() == pytest.approx(0.5 * dc.item(), abs=1e-4)
    zero = ModalityDecompositionLoss(loss_weight_shs=0., lambda_dc=0., lambda_sps=0.)
    assert all(v.item() == 0 for v in zero(sp, sh, labels, modality, 5).values())


def test_modality_decomposition_loss_lambdas_weight_their_own_terms_eq7():
    # eq. 7 with lambda1 (L_dc) = 0.3 and lambda2 (L_sps) = 0.7:
    # visible: C_sp = the P = 3 eq. 4 example, C_sh = its shared centers
    #   -> L_dc = 14; pairwise specific distances 3, 4, 5 > rho2 -> L_sps = 0
    # infrared: C_sp = the eq. 5 example shifted by (10, 10) -> L_sps = 0.4;
    #   C_sh = the same shared centers, each more than 11 from every C_sp
    #   (nearest: (0,5) to (10,10), sqrt(125)), whose pairwise distances are
    #   at most 2 -> every hinge negative, L_dc = 0
    # L_shs: C_sh,V = C_sh,I (no pull), identities 3 or more apart -> 0
    sp, labels, modality = _batch_from_centers(DC3_SP, SPS + T([10., 10.]))
    sh, _, _ = _batch_from_centers(DC3_SH, DC3_SH)
    loss = ModalityDecompositionLoss(lambda_dc=0.3, lambda_sps=0.7)
    out = loss(sp, sh, labels, modality, num_classes=4)
    assert out['loss_dc'].item() == pytest.approx(0.3 * 14, abs=1e-4)
    assert out['loss_sps'].item() == pytest.approx(0.7 * 0.4, abs=1e-4)
    assert out['loss_shs'].item() == pytest.approx(0., abs=1e-4)


def test_cross_modality_center_loss_module_eq17():
    feats, labels, modality = _batch_from_centers(SHS_V, SHS_I)
    value = CrossModalityCenterLoss(margin=0.7, beta=2.0)(feats, labels, modality, 4)
    assert value.item() == pytest.approx(SHS_VALUE, abs=1e-4)
    # an identity seen in one modality only takes no part in eq. 17
    extra = torch.cat([feats, T([[0., 0.05]])])
    value = CrossModalityCenterLoss()(extra, torch.cat([labels, T([3])]),
                                      torch.cat([modality, T([0])]), 4)
    assert value.item() == pytest.approx(SHS_VALUE, abs=1e-4)


def test_cross_modality_center_loss_beta_weights_the_pull_eq17():
    # eq. 17 on the eq. 6 example with beta = 3, rho4 = 0.7:
    # pull 3 * (0.1 + 2.5 + 0) = 7.8; push as in eq. 6: 0.2 + (0.7 - sqrt(0.26)) + 0.2
    # L_MC = 8.9 - sqrt(0.26); loss_weight 0.5 halves it
    feats, labels, modality = _batch_from_centers(SHS_V, SHS_I)
    value = CrossModalityCenterLoss(margin=0.7, beta=3.0)(feats, labels, modality, 4)
    assert value.item() == pytest.approx(8.9 - math.sqrt(0.26), abs=1e-4)
    value = CrossModalityCenterLoss(margin=0.7, beta=3.0, loss_weight=0.5)(
        feats, labels, modality, 4)
    assert value.item() == pytest.approx(0.5 * (8.9 - math.sqrt(0.26)), abs=1e-4)
