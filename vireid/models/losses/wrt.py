"""Weighted regularization triplet (WRT) loss of AGW (Ye et al., TPAMI 2021)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

from vireid.registry import MODELS
from .distance import euclidean_distance, same_label_masks


def masked_softmax_weights(values: torch.Tensor,
                           mask: torch.Tensor) -> torch.Tensor:
    """Row-wise softmax of ``values`` restricted to ``mask`` (zero elsewhere).

    The row maximum is subtracted for stability; the ``1e-6`` in the
    denominator keeps a row with an empty mask at all-zero weights.
    """
    mask = mask.to(values.dtype)
    row_max = (values * mask).max(dim=1, keepdim=True)[0]
    exp = torch.exp(values - row_max) * mask
    return exp / (exp.sum(dim=1, keepdim=True) + 1e-6)


def weighted_regularization_triplet_loss(feats: torch.Tensor,
                                         labels: torch.Tensor) -> torch.Tensor:
    """WRT loss (AGW, eq. of the weighted regularization triplet).

    For every anchor ``i`` with Euclidean distances ``d_ij`` in the batch:
    ``d_p = sum_j w_ij^p d_ij`` over positives with ``w^p = softmax(d_ij)``,
    ``d_n = sum_k w_ik^n d_ik`` over negatives with ``w^n = softmax(-d_ik)``;
    ``loss = mean_i log(1 + exp(d_p - d_n))`` (soft margin, no margin
    hyper-parameter). Positives include the anchor itself (distance ~0), as in
    the reference implementation.

    Args:
        feats: ``[N, C]`` features (AGW: pooled, before the BNNeck).
        labels: ``[N]`` identity labels.
    """
    if feats.dim() != 2 or feats.size(0) != labels.numel():
        raise ValueError(f'feats must be [N, C] with N == len(labels); got '
                         f'{tuple(feats.shape)} and {labels.numel()} labels')
    dist = euclidean_distance(feats, feats)
    is_pos, is_neg = same_label_masks(labels)
    dist_ap = dist * is_pos
    dist_an = dist * is_neg
    furthest_positive = (dist_ap * masked_softmax_weights(dist_ap, is_pos)).sum(1)
    closest_negative = (dist_an * masked_softmax_weights(-dist_an, is_neg)).sum(1)
    # SoftMarginLoss with target 1 is softplus(-x).
    return F.softplus(furthest_positive - closest_negative).mean()


@MODELS.register_module()
class WRTLoss(nn.Module):
    """Module wrapper of :func:`weighted_regularization_triplet_loss`.

    ``forward(feats [N, C], labels [N]) -> scalar`` times ``loss_weight``.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * weighted_regularization_triplet_loss(
            feats, labels)
