"""CUDA-graph replay of a two-stream backbone's training forward and backward passes.

A ResNet-50 training step launches some 1,500 kernels; replayed as a graph
(:mod:`vireid.models.cuda_graphs`) it costs the host two launches. The
cross-modality sampler gives every batch the same layout, so a run
captures one graph (and one more for a shorter last batch, if the loader
keeps one).
"""
from typing import Callable, Optional

import torch
import torch.nn as nn

from vireid.models.cuda_graphs import GraphCache, autocast_dtype, capture_keeping_buffers
from .routing import plan_to


class PlannedForward(nn.Module):
    """``backbone.forward_planned(x, plan)`` with one plan (device index tensors) fixed."""

    def __init__(self, backbone: nn.Module, plan):
        super().__init__()
        self.backbone = backbone
        self.plan = plan

    def forward(self, x: torch.Tensor):
        return self.backbone.forward_planned(x, self.plan)


class BackboneGraphs(GraphCache):
    """The graphed training passes of one backbone, one per batch layout.

    ``get(x, plan, backbone)`` returns a callable ``x -> backbone outputs``
    that replays captured graphs (its backward too), or ``None`` where the
    backbone must run eagerly (see :class:`GraphCache`). Capturing leaves
    the backbone's BN statistics as they were.

    The outputs of a replay live in the graph's memory and are overwritten
    by the next replay: use them within the training step that made them.
    """

    @staticmethod
    def key(x: torch.Tensor, plan) -> tuple:
        groups, _ = plan
        layout = tuple((value, tuple(index.tolist())) for value, index in groups)
        return layout, tuple(x.shape), x.stride(), x.dtype, x.device, autocast_dtype()

    def get(self, x: torch.Tensor, plan, backbone: nn.Module) -> Optional[Callable]:
        return self.lookup(self.key(x, plan), lambda: self.capture(x, plan, backbone),
                           backbone, f'{type(backbone).__name__} backbone')

    @staticmethod
    def capture(x: torch.Tensor, plan, backbone: nn.Module) -> Callable:
        module = PlannedForward(backbone, plan_to(plan, x.device))
        return capture_keeping_buffers(module, (x.detach().clone(), ))
