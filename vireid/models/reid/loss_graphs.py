"""CUDA-graph replay of a model's loss terms, forward and backward.

FMCNet's eleven loss terms (center tables, distance matrices, hinges,
cross-entropies) are some 400 small kernels forward and as many backward:
with the backbone graphed, launching them one by one is what bounds the
step. Replayed as a graph they cost the host two launches and a copy per
input. A graphed loss sees only its features: a term that reads the data
samples fails at capture, instead of baking the first batch into the graph.

Under DDP a loss that calls a wrapped module (FMCNet's discriminators in
their own step) runs eagerly: the wrapper's forward prepares the gradient
all-reduce of each iteration, which a replay would skip. This is found in
the first warm-up pass of the capture, before anything is recorded.

What a graph fixes: the layout of each feature, the autocast dtype, the
``state`` its caller puts in the key (the model's settings: loss weights,
switches), and what the loss reads beyond that (its modules' settings,
which parameters require gradients), as it was at capture.
"""
from typing import Callable, Dict

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper

from vireid.models.cuda_graphs import (EAGER, GraphCache, autocast_dtype,
                                       capture_keeping_buffers, tensor_layout)

LossFunction = Callable[[Dict[str, torch.Tensor], object], Dict[str, torch.Tensor]]


class _NoDataSamples:
    """What a graphed loss gets for ``data_samples``: reading it raises."""

    def __init__(self, loss_fn: LossFunction):
        self._name = loss_fn.__qualname__

    def _refuse(self, *args, **kwargs):
        raise RuntimeError(f'{self._name} reads data_samples, which a loss replayed as a '
                           'CUDA graph cannot: pass what it needs in the features, or set '
                           'graph_losses=False')

    __getattr__ = __getitem__ = __iter__ = __len__ = __bool__ = _refuse


class _CallsWrapper(Exception):
    pass


def _refuse_wrapper_calls(module: nn.Module, args) -> None:
    raise _CallsWrapper(type(module.module).__name__)


class _FeatureLoss(nn.Module):
    """``loss_fn(features, data_samples=<unreadable>)`` as a module whose parameters are those of ``surface``.

    ``surface`` (the whole model) holds every weight the loss may train (the
    learnable center tables of a loss, say); a weight it leaves unused gets
    no gradient from the graph.
    """

    def __init__(self, loss_fn: LossFunction, surface: nn.Module):
        super().__init__()
        self.surface = surface
        self.loss_fn = loss_fn

    def forward(self, features: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return self.loss_fn(features, _NoDataSamples(self.loss_fn))


class LossGraphs(GraphCache):
    """Graphed loss functions of one model, one graph per function and feature layout.

    ``__call__(loss_fn, features, data_samples, model, state)`` returns
    ``loss_fn(features, data_samples)``'s terms, from a replay where one is
    available (else eagerly). ``model``'s parameters are the ones the graph
    differentiates, and its DDP wrapping decides whether graphs may run;
    ``state`` (hashable) joins the key.

    The terms of a replay live in the graph's memory and are overwritten by
    the next replay: ``parse_losses`` copies them (``.mean()``) into the log.
    """

    def __call__(self, loss_fn: LossFunction, features: Dict[str, torch.Tensor],
                 data_samples, model: nn.Module, state: tuple = ()) -> Dict[str, torch.Tensor]:
        not_tensors = [name for name, value in features.items() if not torch.is_tensor(value)]
        if not_tensors:
            raise TypeError(f'{loss_fn.__qualname__}: graphed losses take tensor features '
                            f'only; {not_tensors} are not tensors')
        key = (loss_fn.__qualname__, autocast_dtype(), state,
               tuple((name, tensor_layout(value)) for name, value in features.items()))
        graphed = self.lookup(key, lambda: self.capture(loss_fn, features, model),
                              model, loss_fn.__qualname__)
        if graphed is None:
            return loss_fn(features, data_samples)
        return graphed(features)

    def capture(self, loss_fn: LossFunction, features: Dict[str, torch.Tensor],
                surface: nn.Module):
        sample = {name: value.detach().clone().requires_grad_(value.requires_grad)
                  for name, value in features.items()}
        hooks = [module.register_forward_pre_hook(_refuse_wrapper_calls)
                 for module in surface.modules() if is_model_wrapper(module)]
        try:
            return capture_keeping_buffers(_FeatureLoss(loss_fn, surface), (sample, ))
        except _CallsWrapper as wrapped:
            self._warn('wrapper', f'{loss_fn.__qualname__} calls {wrapped} through its DDP wrapper, '
                       'which a CUDA-graph replay would skip: it runs eagerly')
            return EAGER
        finally:
            for hook in hooks:
                hook.remove()
