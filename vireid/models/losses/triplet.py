"""Batch-hard triplet loss (Hermans et al., 2017): the 'Base' model's metric loss."""
import torch
import torch.nn as nn

from vireid.registry import MODELS
from .distance import euclidean_distance, same_label_masks


def hard_triplet_loss(feats: torch.Tensor, labels: torch.Tensor,
                      margin: float = 0.3) -> torch.Tensor:
    """Batch-hard triplet loss with a margin.

    ``loss = mean_i max(0, max_{j: y_j = y_i} d_ij - min_{k: y_k != y_i} d_ik + margin)``
    over Euclidean distances in the batch; the anchor counts as its own
    positive (distance ~0), as in the reference implementation. Anchors
    without any negative in the batch contribute 0.

    Args:
        feats: ``[N, C]`` features.
        labels: ``[N]`` identity labels.
        margin: the triplet margin.
    """
    if feats.dim() != 2 or feats.size(0) != labels.numel():
        raise ValueError(f'feats must be [N, C] with N == len(labels); got '
                         f'{tuple(feats.shape)} and {labels.numel()} labels')
    dist = euclidean_distance(feats, feats)
    is_pos, is_neg = same_label_masks(labels)
    hardest_positive = (dist * is_pos).amax(dim=1)
    # Masked-out entries get the row's largest distance plus the margin, so
    # they can never be the closest negative nor produce a positive hinge.
    fill = dist.detach().amax() + margin + 1
    hardest_negative = torch.where(is_neg, dist, fill).amin(dim=1)
    return torch.relu(hardest_positive - hardest_negative + margin).mean()


@MODELS.register_module()
class TripletLoss(nn.Module):
    """Module wrapper of :func:`hard_triplet_loss`.

    ``forward(feats [N, C], labels [N]) -> scalar`` times ``loss_weight``.
    """

    def __init__(self, margin: float = 0.3, loss_weight: float = 1.0):
        super().__init__()
        self.margin = margin
        self.loss_weight = loss_weight

    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * hard_triplet_loss(feats, labels, self.margin)
