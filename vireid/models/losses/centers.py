"""Per-identity feature centers of a batch (FMCNet eq. 3), one table per modality.

Centers live in a fixed ``[num_classes, D]`` table with a ``present`` mask
instead of being compacted to the identities in the batch: compacting needs
``torch.unique`` (a host sync on GPUs), the table needs one small matmul.
Rows of the visible and infrared tables are aligned by identity.
"""
from typing import Tuple

import torch
import torch.nn.functional as F


def identity_centers(features: torch.Tensor, labels: torch.Tensor,
                     num_classes: int,
                     weight: torch.Tensor = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """Eq. 3: ``C^p = 1/K sum_k F^{k,p}`` for every identity ``p`` in ``0..num_classes-1``.

    Args:
        features: ``[N, D]``.
        labels: ``[N]`` identity labels in ``0..num_classes-1``.
        num_classes: rows of the table.
        weight: optional ``[N]`` 0/1 mask of the samples to use (e.g. one
            modality's).

    Returns:
        ``(centers [num_classes, D], present [num_classes] bool)``; rows of
        absent identities are zero and must be ignored (``present``).
    """
    if features.dim() != 2 or labels.shape != features.shape[:1]:
        raise ValueError(f'features must be [N, D] and labels [N]; got '
                         f'{tuple(features.shape)} and {tuple(labels.shape)}')
    one_hot = F.one_hot(labels, num_classes).to(features.dtype)
    if weight is not None:
        one_hot = one_hot * weight.to(features.dtype).unsqueeze(1)
    counts = one_hot.sum(0)
    sums = one_hot.t() @ features
    return sums / counts.clamp(min=1).unsqueeze(1), counts > 0


def modality_centers(features: torch.Tensor, labels: torch.Tensor,
                     modality: torch.Tensor, num_classes: int):
    """Eq. 3 for both modalities: ``(centers_v, present_v, centers_i, present_i)``.

    ``modality`` is ``[N]`` with 0 visible and 1 infrared.
    """
    is_ir = modality.to(features.dtype)
    centers_v, present_v = identity_centers(features, labels, num_classes, 1 - is_ir)
    centers_i, present_i = identity_centers(features, labels, num_classes, is_ir)
    return centers_v, present_v, centers_i, present_i
