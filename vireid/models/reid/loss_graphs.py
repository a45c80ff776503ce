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
the eager pass that precedes the capture, before anything is recorded.

What a graph fixes: the layout of each feature, the autocast dtype, the
``state`` its caller puts in the key (the model's settings: loss weights,
switches), and what the loss reads beyond that (its modules' settings,
which parameters require gradients), as it was at capture.
"""
from typing import Callable, Dict, Iterable, List, Sequence

import torch
import torch.nn as nn
from mmengine.model import is_model_wrapper
from torch.utils._pytree import tree_leaves

from vireid.models.cuda_graphs import (EAGER, GraphCache, autocast_dtype, capture_passes,
                                       restoring_written_buffers, tensor_layout)

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
    """``loss_fn(features, data_samples=<unreadable>)`` as a module whose parameters are ``trained``.

    ``trained`` are the weights the loss reaches (:func:`reached_parameters`);
    the graph differentiates those and hands the model's others nothing.
    """

    def __init__(self, loss_fn: LossFunction, trained: Sequence[nn.Parameter] = ()):
        super().__init__()
        self.loss_fn = loss_fn
        self.trained = nn.ParameterList(trained)

    def forward(self, features: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
        return self.loss_fn(features, _NoDataSamples(self.loss_fn))


def reached_parameters(outputs: Iterable,
                       surface: nn.Module) -> List[nn.Parameter]:
    """The trainable parameters of ``surface`` that ``outputs``' autograd graph reaches.

    Why not all of them: the replay of a graph is one autograd node with an
    edge to each parameter it was captured with, and those edges keep the
    parameters' gradient accumulators alive, bound to the stream of the
    eager step that made them. A later capture whose backward reaches such
    a parameter (the main step's head, after the adversary step's replay)
    would then make the default stream wait on the capturing one, which
    invalidates the capture. Walking the graph launches no kernel.
    """
    reached, seen = set(), set()
    # terms may be lists of tensors (parse_losses sums those too)
    stack = [t.grad_fn for t in tree_leaves(list(outputs))
             if torch.is_tensor(t) and t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if node is None or node in seen:
            continue
        seen.add(node)
        variable = getattr(node, 'variable', None)  # an AccumulateGrad node
        if variable is not None:
            reached.add(id(variable))
        stack.extend(next_node for next_node, _ in node.next_functions)
    return [p for p in surface.parameters() if p.requires_grad and id(p) in reached]


class LossGraphs(GraphCache):
    """Graphed loss functions of one model, one graph per function and feature layout.

    ``__call__(loss_fn, features, data_samples, model, state)`` returns
    ``loss_fn(features, data_samples)``'s terms, from a replay where one is
    available (else eagerly). The graph differentiates those of ``model``'s
    parameters that the loss reaches at capture; ``model``'s DDP wrapping
    decides whether graphs may run; ``state`` (hashable) joins the key.

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
            # a first pass finds the weights the loss trains, the capture's
            # warm-up passes follow; the model's buffers end as they were
            with restoring_written_buffers(surface):
                trained = reached_parameters(_FeatureLoss(loss_fn)(sample).values(), surface)
                return capture_passes(_FeatureLoss(loss_fn, trained), (sample, ))
        except _CallsWrapper as wrapped:
            self._warn('wrapper', f'{loss_fn.__qualname__} calls {wrapped} through its DDP wrapper, '
                       'which a CUDA-graph replay would skip: it runs eagerly')
            return EAGER
        finally:
            for hook in hooks:
                hook.remove()
