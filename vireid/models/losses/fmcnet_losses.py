"""FMCNet losses (Zhang et al., CVPR 2022): modality decomposition (eqs. 4-7),
feature-level modality compensation (eqs. 12-14) and the cross-modality
center loss of the fused features (eq. 17).

A centers tensor is ``[P, D]``: row ``p`` is identity ``p``'s center (eq. 3,
:mod:`vireid.models.losses.centers`), rows aligned across modalities and
across the specific / shared tables. ``valid`` (optional ``[P]`` bool) marks
the rows to use, so that a fixed table of all training identities can be
passed without a host sync; ``None`` uses every row. Center losses return
the sum over identities, as written in the paper; the per-sample losses
(eqs. 12-14) return means over the samples selected by ``weight``
(optional ``[N]`` 0/1 mask).
"""
from typing import Dict, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from vireid.registry import MODELS
from .centers import modality_centers
from .distance import euclidean_distance


def _all_valid(centers: torch.Tensor, valid: Optional[torch.Tensor]) -> torch.Tensor:
    if valid is None:
        return torch.ones(centers.size(0), dtype=torch.bool, device=centers.device)
    if valid.shape != centers.shape[:1]:
        raise ValueError(f'valid must be [P] = [{centers.size(0)}], got {tuple(valid.shape)}')
    return valid.bool()


def _row_norm(diff: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    # clamped before the sqrt so that coinciding centers give a zero, not NaN, gradient
    return diff.pow(2).sum(-1).clamp(min=eps).sqrt()


def _weighted_mean(values: torch.Tensor, weight: Optional[torch.Tensor]) -> torch.Tensor:
    if weight is None:
        return values.mean()
    weight = weight.to(values.dtype)
    return (values * weight).sum() / weight.sum().clamp(min=1)


def decorrelation_loss(sp_centers: torch.Tensor,
                       sh_centers: torch.Tensor,
                       margin: float = 1.0,
                       valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Eq. 4, L_dc for one modality m:
    ``sum_p max(max_d ||C_sp^p - C_sp^d|| - min_j ||C_sp^p - C_sh^j|| + rho1, 0)``.

    The farthest specific center of another identity must be nearer than the
    nearest shared center (any identity, ``p`` included). ``rho1 = margin``.
    """
    if sp_centers.shape != sh_centers.shape:
        raise ValueError(f'specific and shared centers differ in shape: '
                         f'{tuple(sp_centers.shape)} vs {tuple(sh_centers.shape)}')
    valid = _all_valid(sp_centers, valid)
    sp_centers, sh_centers = sp_centers.float(), sh_centers.float()
    cols = valid.unsqueeze(0)
    farthest_sp = euclidean_distance(sp_centers, sp_centers).masked_fill(
        ~cols, float('-inf')).amax(1)
    nearest_sh = euclidean_distance(sp_centers, sh_centers).masked_fill(
        ~cols, float('inf')).amin(1)
    hinge = (farthest_sp - nearest_sh + margin).clamp(min=0)
    return hinge.masked_fill(~valid, 0).sum()


def specific_separation_loss(sp_centers: torch.Tensor,
                             margin: float = 0.7,
                             valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Eq. 5, L_sps for one modality m:
    ``sum_p max(rho2 - min_{j != p} ||C_sp^p - C_sp^j||, 0)``. ``rho2 = margin``.
    """
    valid = _all_valid(sp_centers, valid)
    sp_centers = sp_centers.float()
    others = valid.unsqueeze(0) & ~torch.eye(
        valid.numel(), dtype=torch.bool, device=valid.device)
    nearest = euclidean_distance(sp_centers, sp_centers).masked_fill(
        ~others, float('inf')).amin(1)
    return (margin - nearest).clamp(min=0).masked_fill(~valid, 0).sum()


def shared_separation_loss(centers_v: torch.Tensor,
                           centers_i: torch.Tensor,
                           margin: float = 0.7,
                           alpha: float = 2.0,
                           valid: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Eq. 6, L_shs (and eq. 17, L_MC, with ``alpha = beta`` on the fused centers):

    ``sum_p alpha ||C_V^p - C_I^p|| + max(rho - min_{j != p} ||C_V^p - C_m^j||, 0)
    + max(rho - min_{d != p} ||C_I^p - C_m^d||, 0)``

    where ``C_m^j`` runs over the centers of both modalities of every other
    identity. ``rho = margin`` (rho3 of eq. 6, rho4 of eq. 17).
    """
    if centers_v.shape != centers_i.shape:
        raise ValueError(f'visible and infrared centers differ in shape: '
                         f'{tuple(centers_v.shape)} vs {tuple(centers_i.shape)}')
    valid = _all_valid(centers_v, valid)
    centers_v, centers_i = centers_v.float(), centers_i.float()
    pull = alpha * _row_norm(centers_v - centers_i)
    both = torch.cat([centers_v, centers_i])
    others = valid.unsqueeze(0) & ~torch.eye(
        valid.numel(), dtype=torch.bool, device=valid.device)
    others = torch.cat([others, others], dim=1)
    push = 0
    for centers in (centers_v, centers_i):
        nearest = euclidean_distance(centers, both).masked_fill(
            ~others, float('inf')).amin(1)
        push = push + (margin - nearest).clamp(min=0)
    return (pull + push).masked_fill(~valid, 0).sum()


def per_modality_cross_entropy(logits: torch.Tensor, labels: torch.Tensor,
                               modality: torch.Tensor) -> torch.Tensor:
    """Eqs. 8 / 18 for one classifier: ``L_CE(S_V, Y_V) + L_CE(S_I, Y_I)``,
    each the mean cross-entropy (eq. 9) over that modality's samples."""
    per_sample = F.cross_entropy(logits.float(), labels, reduction='none')
    is_ir = modality.to(per_sample.dtype)
    return _weighted_mean(per_sample, 1 - is_ir) + _weighted_mean(per_sample, is_ir)


def discriminator_loss(real_logits: torch.Tensor,
                       fake_logits: torch.Tensor,
                       real_weight: Optional[torch.Tensor] = None,
                       fake_weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Eq. 12, the discriminator's side: ``max_D mean log D(F_sp) + mean log(1 - D(F'_sp))``
    written as the BCE it minimises, ``BCE(D(real), 1) + BCE(D(fake), 0)``.

    ``D`` is one FC layer + sigmoid; the logits (before the sigmoid) are
    taken here so that BCE is computed stably.
    """
    real = F.binary_cross_entropy_with_logits(
        real_logits.float(), torch.ones_like(real_logits, dtype=torch.float),
        reduction='none').reshape(-1)
    fake = F.binary_cross_entropy_with_logits(
        fake_logits.float(), torch.zeros_like(fake_logits, dtype=torch.float),
        reduction='none').reshape(-1)
    return _weighted_mean(real, real_weight) + _weighted_mean(fake, fake_weight)


def generator_adversarial_loss(fake_logits: torch.Tensor,
                               weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Eq. 12, the generator's side in its non-saturating form:
    ``min_G -mean log D(G(F_sh))`` = ``BCE(D(fake), 1)`` (same fixed point as
    ``min_G log(1 - D(G(F_sh)))``, with useful gradients when D wins)."""
    fake = F.binary_cross_entropy_with_logits(
        fake_logits.float(), torch.ones_like(fake_logits, dtype=torch.float),
        reduction='none').reshape(-1)
    return _weighted_mean(fake, weight)


FC_REDUCTIONS = ('mean', 'sum')


def feature_consistency_loss(generated: torch.Tensor,
                             target_centers: torch.Tensor,
                             weight: Optional[torch.Tensor] = None,
                             reduction: str = 'mean') -> torch.Tensor:
    """Eq. 13, L_FC: ``1/PK sum_{p,k} ||F'^{k,p} - C^p||_1``.

    ``generated`` ``[N, D]`` are the generated features F' (the paper's F in
    eq. 13 is the generated one: the real features do not depend on G);
    ``target_centers`` ``[N, D]`` holds, per sample, the real specific center
    of its identity in the target modality; it is detached here.
    ``reduction`` over the D channels: ``'sum'`` is the l1 norm as written,
    ``'mean'`` the mean absolute difference (``nn.L1Loss``), 1/D of it.
    """
    if generated.shape != target_centers.shape:
        raise ValueError(f'generated {tuple(generated.shape)} and target centers '
                         f'{tuple(target_centers.shape)} must have the same shape')
    if reduction not in FC_REDUCTIONS:
        raise ValueError(f'reduction must be one of {FC_REDUCTIONS}, got {reduction!r}')
    diff = (generated.float() - target_centers.detach().float()).abs()
    l1 = diff.sum(1) if reduction == 'sum' else diff.mean(1)
    return _weighted_mean(l1, weight)


def identity_consistency_loss(logits: torch.Tensor, labels: torch.Tensor,
                              weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Eq. 14, L_IC: ``L_CE(P_sp^{m'}(F'_sp,m'), Y)``, the target modality's
    specific classifier applied to the generated features."""
    per_sample = F.cross_entropy(logits.float(), labels, reduction='none')
    return _weighted_mean(per_sample, weight)


def discriminator_accuracy(logits: torch.Tensor, real: bool,
                           weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Fraction of features the discriminator labels right (``D > 0.5`` means real).

    Returned as a tensor, so logging it does not sync with the host.
    """
    says_real = (logits.detach().reshape(-1) > 0).float()
    right = says_real if real else 1 - says_real
    return _weighted_mean(right, weight)


@MODELS.register_module()
class ModalityDecompositionLoss(nn.Module):
    """Eq. 7, ``L_MD = L_shs + lambda1 L_dc + lambda2 L_sps``, from a batch.

    Centers (eq. 3) are computed per modality from the batch; L_dc and L_sps
    are summed over both modalities (eqs. 4, 5), L_shs uses the identities
    present in both.

    Args:
        margin_dc, margin_sps, margin_shs: rho1, rho2, rho3.
        alpha: weight of the same-identity cross-modality pull in eq. 6.
        loss_weight_shs, lambda_dc, lambda_sps: weights of the three terms
            (1, 0.5, 0.5 in the paper); 0 switches a term off.

    ``forward(sp_feats [N, D], sh_feats [N, D], labels [N], modality [N],
    num_classes) -> dict(loss_shs, loss_dc, loss_sps)``, each weighted.
    """

    def __init__(self,
                 margin_dc: float = 1.0,
                 margin_sps: float = 0.7,
                 margin_shs: float = 0.7,
                 alpha: float = 2.0,
                 loss_weight_shs: float = 1.0,
                 lambda_dc: float = 0.5,
                 lambda_sps: float = 0.5):
        super().__init__()
        self.margin_dc, self.margin_sps, self.margin_shs = margin_dc, margin_sps, margin_shs
        self.alpha = alpha
        self.loss_weight_shs, self.lambda_dc, self.lambda_sps = (
            loss_weight_shs, lambda_dc, lambda_sps)

    def forward(self, sp_feats: torch.Tensor, sh_feats: torch.Tensor,
                labels: torch.Tensor, modality: torch.Tensor,
                num_classes: int) -> Dict[str, torch.Tensor]:
        sp_v, sp_present_v, sp_i, sp_present_i = modality_centers(
            sp_feats, labels, modality, num_classes)
        sh_v, _, sh_i, _ = modality_centers(sh_feats, labels, modality, num_classes)
        l_dc = (decorrelation_loss(sp_v, sh_v, self.margin_dc, sp_present_v) +
                decorrelation_loss(sp_i, sh_i, self.margin_dc, sp_present_i))
        l_sps = (specific_separation_loss(sp_v, self.margin_sps, sp_present_v) +
                 specific_separation_loss(sp_i, self.margin_sps, sp_present_i))
        l_shs = shared_separation_loss(sh_v, sh_i, self.margin_shs, self.alpha,
                                       sp_present_v & sp_present_i)
        return dict(
            loss_shs=self.loss_weight_shs * l_shs,
            loss_dc=self.lambda_dc * l_dc,
            loss_sps=self.lambda_sps * l_sps)


@MODELS.register_module()
class CrossModalityCenterLoss(nn.Module):
    """Eq. 17, L_MC: the L_shs form on the batch centers of the fused features F_fp.

    Args:
        margin: rho4 (0.7).
        beta: weight of the same-identity cross-modality pull (2).
        loss_weight: multiplies the result.

    ``forward(feats [N, D], labels [N], modality [N], num_classes) -> Tensor``.
    """

    def __init__(self, margin: float = 0.7, beta: float = 2.0, loss_weight: float = 1.0):
        super().__init__()
        self.margin, self.beta, self.loss_weight = margin, beta, loss_weight

    def forward(self, feats: torch.Tensor, labels: torch.Tensor,
                modality: torch.Tensor, num_classes: int) -> torch.Tensor:
        centers_v, present_v, centers_i, present_i = modality_centers(
            feats, labels, modality, num_classes)
        return self.loss_weight * shared_separation_loss(
            centers_v, centers_i, self.margin, self.beta, present_v & present_i)


__all__ = [
    'decorrelation_loss', 'specific_separation_loss',
    'shared_separation_loss', 'per_modality_cross_entropy', 'discriminator_loss',
    'generator_adversarial_loss', 'feature_consistency_loss',
    'identity_consistency_loss', 'discriminator_accuracy',
    'ModalityDecompositionLoss', 'CrossModalityCenterLoss'
]
