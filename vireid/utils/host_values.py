"""Read many scalar tensors back to the host in one transfer."""
from typing import Any, List, Sequence

import torch


def host_values(values: Sequence[Any]) -> List[Any]:
    """``values`` with every one-element tensor replaced by its Python number.

    All such tensors are stacked and copied together, so a batch of logged
    scalars costs one host sync instead of one per value. Other values
    (numbers, larger tensors) pass through unchanged.
    """
    scalars = [v for v in values if torch.is_tensor(v) and v.numel() == 1]
    if not scalars:
        return list(values)
    device = scalars[0].device
    stacked = torch.stack([v.detach().reshape(()).to(device, torch.float64) for v in scalars])
    numbers = iter(stacked.tolist())
    return [next(numbers) if torch.is_tensor(v) and v.numel() == 1 else v for v in values]
