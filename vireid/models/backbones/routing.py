"""Modality routing: which samples of a batch go through which branch."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn as nn

RoutePlan = Tuple[List[Tuple[int, torch.Tensor]], Optional[torch.Tensor]]


def plan_routes(modality: torch.Tensor, batch: int, num_branches: int) -> RoutePlan:
    """Which samples go to which branch: ``([(branch, index), ...], inverse)``.

    Branches with no sample are left out; ``inverse`` puts the concatenated
    branch outputs back in input order (``None`` with a single group). The
    groups' sizes set shapes, so they are found where ``modality`` lives:
    pass it on the CPU (as the models do) and the step never waits for the
    GPU here.
    """
    if modality.shape != (batch, ):
        raise ValueError(f'modality must have shape ({batch},), one value '
                         f'per sample; got {tuple(modality.shape)}')
    groups = [(value, torch.nonzero(modality == value).squeeze(1))
              for value in range(num_branches)]
    groups = [(value, index) for value, index in groups if index.numel()]
    order = torch.cat([index for _, index in groups]) if groups else modality.new_empty(0)
    if order.numel() != batch:
        raise ValueError(f'modality values must be in 0..{num_branches - 1}; '
                         f'got {modality.tolist()}')
    return groups, (torch.argsort(order) if len(groups) > 1 else None)


def plan_to(plan: RoutePlan, device: torch.device) -> RoutePlan:
    groups, inverse = plan
    groups = [(value, index.to(device, non_blocking=True)) for value, index in groups]
    return groups, (None if inverse is None else inverse.to(device, non_blocking=True))


def run_routes(x: torch.Tensor, plan: RoutePlan, branches: Sequence[nn.Module]) -> torch.Tensor:
    """Run each group of ``plan`` (on ``x``'s device) through its branch; outputs in input order.

    Each branch sees only its own samples (its BN statistics and gradients
    come from them alone); a branch with no sample in the batch is skipped.
    """
    groups, inverse = plan
    outputs = [branches[value](x.index_select(0, index)) for value, index in groups]
    if inverse is None:
        return outputs[0]
    return torch.cat(outputs).index_select(0, inverse)

