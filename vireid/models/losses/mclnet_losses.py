"""MCLNet losses (Hao et al., ICCV 2021): modality confusion (eqs. 1-2) and
identity- / camera-aware marginal center aggregation (eqs. 5-6).

Pure functions carry the equations; the registered modules hold weights,
hyper-parameters and (for the center losses) the learnable centers.
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn as nn
import torch.nn.functional as F

from vireid.registry import MODELS
from .centers import identity_centers

HINGE_MODES = ('sample', 'batch')
NEGATIVE_MODES = ('batch', 'all')
CENTER_MODES = ('parameter', 'batch_mean')


def modality_classification_loss(logits: torch.Tensor,
                                 modality: torch.Tensor) -> torch.Tensor:
    """Eq. 1, L_m: mean cross-entropy of the modality classifier's logits
    ``[N, 2]`` against the true modality (0 visible -> t=[1, 0],
    1 infrared -> t=[0, 1])."""
    return F.cross_entropy(logits, modality)


def modality_confusion_loss(logits: torch.Tensor,
                            target: Optional[Union[Sequence[float], torch.Tensor]] = None
                            ) -> torch.Tensor:
    """Eq. 2, L_e: mean soft cross-entropy ``-sum_k o_k log p_k`` of the
    classifier's softmax against the confused label ``o`` (uniform,
    ``[0.5, 0.5]`` for two modalities, unless ``target`` is given)."""
    num_classes = logits.shape[-1]
    if target is None:
        soft = logits.new_full((num_classes, ), 1.0 / num_classes)
    else:
        soft = torch.as_tensor(target, dtype=logits.dtype, device=logits.device)
        if soft.shape != (num_classes, ):
            raise ValueError(f'confusion target {soft.tolist()} must have one value '
                             f'per logit ({num_classes})')
    return -(F.log_softmax(logits, dim=-1) * soft).sum(dim=-1).mean()


def modality_accuracy(logits: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
    """Fraction of samples whose arg-max modality is right (a tensor: no host sync)."""
    return (logits.argmax(dim=-1) == modality).float().mean()


def _hinge_mean(values: torch.Tensor, hinge: str) -> torch.Tensor:
    # 'sample': the paper's [.]_+ inside the average; 'batch': the authors'
    # code clamps the batch average instead
    if hinge == 'sample':
        return values.clamp(min=0).mean()
    return values.mean().clamp(min=0)


def center_aggregation_term(feats: torch.Tensor,
                            labels: torch.Tensor,
                            centers: torch.Tensor,
                            sigma: float = 8.0,
                            hinge: str = 'sample') -> torch.Tensor:
    """First term of eq. 5 (eq. 6 with camera labels):
    ``1/N sum_i [||f_i - c_yi||^2 - ||f^o_yi - c_yi||^2 - sigma]_+`` where
    ``f^o_yi`` is the batch sample of class ``y_i`` nearest to ``c_yi``."""
    dist = (feats - centers[labels]).pow(2).sum(dim=1)  # [N]
    same = labels[:, None] == labels[None, :]  # [N, N]
    # row i: the distances of the samples of class y_i to c_yi (a Python
    # scalar fill: new_tensor would be a blocking host-to-device copy)
    nearest = dist[None, :].masked_fill(~same, float('inf')).min(dim=1).values
    return _hinge_mean(dist - nearest - sigma, hinge)


def center_separation_term(labels: torch.Tensor,
                           centers: torch.Tensor,
                           rho: float = 4500.0,
                           hinge: str = 'sample',
                           negatives: str = 'batch',
                           present: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Second term of eq. 5 (eq. 6 with camera labels):
    ``1/N sum_i [rho - min_{u != y_i} ||c_yi - c_u||^2]_+``.

    ``negatives='batch'`` takes ``u`` over the other classes present in the
    batch; ``'all'`` over every other row of ``centers`` (the authors' code)
    for which ``present`` (``[num_classes]`` bool, default all) is set.
    Samples with no other class to compare with contribute 0.
    """
    if negatives == 'batch':
        others = centers[labels]  # [N, D]; u runs over the batch's labels
        other_labels = labels
    else:
        others = centers
        other_labels = torch.arange(centers.shape[0], device=labels.device)
    mine = centers[labels]
    # expanded form: cdist's backward is undefined at the zero distances
    # between a center and itself
    dist = (mine.pow(2).sum(1, keepdim=True) + others.pow(2).sum(1)[None, :]
            - 2 * mine @ others.t()).clamp(min=0)  # [N, M]
    excluded = labels[:, None] == other_labels[None, :]
    if present is not None and negatives == 'all':
        excluded = excluded | ~present[None, :]
    dist = dist.masked_fill(excluded, float('inf'))
    nearest = dist.min(dim=1).values
    has_other = torch.isfinite(nearest)
    # a sample whose class is alone in the batch has nothing to keep apart from
    nearest = torch.where(has_other, nearest, nearest.new_zeros(()))
    if hinge == 'sample':
        gaps = (rho - nearest).clamp(min=0) * has_other
        return gaps.sum() / labels.shape[0]
    mean_nearest = nearest.sum() / has_other.sum().clamp(min=1)
    return (rho - mean_nearest).clamp(min=0) * has_other.any()


def marginal_center_aggregation_loss(feats: torch.Tensor,
                                     labels: torch.Tensor,
                                     centers: torch.Tensor,
                                     sigma: float = 8.0,
                                     rho: float = 4500.0,
                                     hinge: str = 'sample',
                                     negatives: str = 'batch',
                                     present: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Eq. 5 (ICA, identity labels) and eq. 6 (CCA, camera labels):
    marginal center aggregation = :func:`center_aggregation_term` +
    :func:`center_separation_term`.

    Args:
        feats: ``[N, D]`` embeddings.
        labels: ``[N]`` class indices into ``centers``.
        centers: ``[num_classes, D]`` class centers.
        sigma: inner-sphere margin (the paper's best: 8).
        rho: center separation margin (not in the paper; the authors' code: 4500).
        hinge: ``'sample'`` (the paper) or ``'batch'`` (the authors' code).
        negatives: ``'batch'`` or ``'all'`` (the authors' code); see
            :func:`center_separation_term`.
        present: ``[num_classes]`` bool, the rows of ``centers`` that exist
            (with batch means: the classes in the batch); default all.
    """
    if hinge not in HINGE_MODES:
        raise ValueError(f'hinge must be one of {HINGE_MODES}, got {hinge!r}')
    if negatives not in NEGATIVE_MODES:
        raise ValueError(f'negatives must be one of {NEGATIVE_MODES}, got {negatives!r}')
    if feats.dim() != 2 or labels.shape != feats.shape[:1]:
        raise ValueError(f'feats must be [N, D] and labels [N]; got {tuple(feats.shape)} '
                         f'and {tuple(labels.shape)}')
    if centers.dim() != 2 or centers.shape[1] != feats.shape[1]:
        raise ValueError(f'centers must be [num_classes, {feats.shape[1]}]; '
                         f'got {tuple(centers.shape)}')
    # squared distances of ~2048-d embeddings near rho=4500: keep them in fp32
    # even under autocast
    dtype = torch.promote_types(torch.promote_types(feats.dtype, centers.dtype), torch.float32)
    feats, centers = feats.to(dtype), centers.to(dtype)
    return (center_aggregation_term(feats, labels, centers, sigma, hinge)
            + center_separation_term(labels, centers, rho, hinge, negatives, present))


@MODELS.register_module()
class ModalityClassificationLoss(nn.Module):
    """Eq. 1 (L_m): the modality classifier's loss on true modality labels."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * modality_classification_loss(logits, modality)


@MODELS.register_module()
class ModalityConfusionLoss(nn.Module):
    """Eq. 2 (L_e): soft cross-entropy against the confused label [0.5, 0.5]."""

    def __init__(self, loss_weight: float = 1.0, target: Optional[Sequence[float]] = None):
        super().__init__()
        self.loss_weight = loss_weight
        # a buffer follows the model to its device: no host-to-device copy per step
        self.register_buffer(
            'target', None if target is None else torch.tensor([float(t) for t in target]),
            persistent=False)

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * modality_confusion_loss(logits, self.target)


@MODELS.register_module()
class MarginalCenterAggregationLoss(nn.Module):
    """Eq. 5 (ICA, identity labels) / eq. 6 (CCA, camera labels), weighted.

    Args:
        num_classes: number of centers (identities, or cameras).
        feat_dim: embedding width.
        sigma, rho, hinge, negatives: see :func:`marginal_center_aggregation_loss`.
        loss_weight: the paper's lambda (0.0005).
        center_mode: ``'parameter'``: learnable ``centers`` (``[num_classes,
            feat_dim]``, N(0, init_std^2) as in the authors' code) that the
            optimizer owning this module updates; ``'batch_mean'``: the
            per-class means of the current batch (differentiable; no state),
            in a table of ``num_classes`` rows, so labels must lie in
            ``0..num_classes-1`` either way.
        init_std: standard deviation of the initial centers.
    """

    def __init__(self,
                 num_classes: int,
                 feat_dim: int = 2048,
                 sigma: float = 8.0,
                 rho: float = 4500.0,
                 loss_weight: float = 5e-4,
                 center_mode: str = 'parameter',
                 hinge: str = 'sample',
                 negatives: str = 'batch',
                 init_std: float = 1.0):
        super().__init__()
        if center_mode not in CENTER_MODES:
            raise ValueError(f'center_mode must be one of {CENTER_MODES}, got {center_mode!r}')
        if hinge not in HINGE_MODES:
            raise ValueError(f'hinge must be one of {HINGE_MODES}, got {hinge!r}')
        if negatives not in NEGATIVE_MODES:
            raise ValueError(f'negatives must be one of {NEGATIVE_MODES}, got {negatives!r}')
        if num_classes < 1:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.sigma, self.rho = float(sigma), float(rho)
        self.loss_weight = loss_weight
        self.center_mode, self.hinge, self.negatives = center_mode, hinge, negatives
        if center_mode == 'parameter':
            self.centers = nn.Parameter(torch.randn(num_classes, feat_dim) * init_std)
        else:
            self.register_parameter('centers', None)

    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        present = None
        if self.centers is None:
            # a table of num_classes rows: no torch.unique, which waits for the GPU
            centers, present = identity_centers(feats, labels, self.num_classes)
        else:
            centers = self.centers
        return self.loss_weight * marginal_center_aggregation_loss(
            feats, labels, centers, self.sigma, self.rho, self.hinge, self.negatives, present)

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, sigma={self.sigma}, rho={self.rho}, '
                f'center_mode={self.center_mode!r}, hinge={self.hinge!r}, '
                f'negatives={self.negatives!r}')
