"""Pairwise distances shared by the metric-learning losses."""
import torch


def euclidean_distance(x: torch.Tensor, y: torch.Tensor,
                       eps: float = 1e-12) -> torch.Tensor:
    """Pairwise Euclidean distances ``[N, M]`` between rows of ``x`` and ``y``.

    Uses ``||x||^2 + ||y||^2 - 2 x.y`` (one matmul) and clamps the squared
    distance at ``eps`` before the square root, as AGW does: the clamp keeps
    the gradient finite on the diagonal, where the distance is ~0. Always
    computed in float32 (autocast off): in bf16/fp16 the subtraction cancels
    catastrophically for nearby features.
    """
    with torch.autocast(device_type=x.device.type, enabled=False):
        dtype = torch.promote_types(x.dtype, torch.float32)  # keeps float64
        x, y = x.to(dtype), y.to(dtype)
        squared = (x.pow(2).sum(1, keepdim=True) +
                   y.pow(2).sum(1).unsqueeze(0) - 2 * x @ y.t())
        return squared.clamp(min=eps).sqrt()


def same_label_masks(labels: torch.Tensor):
    """Boolean ``[N, N]`` masks of same-label (diagonal included) and other-label pairs."""
    if labels.dim() != 1:
        raise ValueError(
            f'labels must be a 1-D tensor, got shape {tuple(labels.shape)}')
    is_pos = labels.unsqueeze(0) == labels.unsqueeze(1)
    return is_pos, ~is_pos
