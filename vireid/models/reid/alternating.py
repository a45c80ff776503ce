"""Alternating min-max training shared by FMCNet (discriminators) and MCLNet (modality classifier)."""
from typing import Dict, Sequence

import torch
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from torch.func import functional_call

from vireid.models.cuda_graphs import refuse_accumulation
from vireid.models.utils import unwrap
from .loss_graphs import LossGraphs
from .loss_guard import guarded_update


def frozen_call(module: torch.nn.Module, *args, **kwargs):
    """Call ``module`` with its parameters detached: gradients reach the inputs, never the weights.

    Going around the module's own ``__call__`` (and any DDP wrapper) keeps
    the adversary's weights out of the main step's graph, so the main update
    neither changes them nor leaves stale gradients for the next adversary
    step, and DDP's reducer never waits for gradients that cannot come.
    """
    module = unwrap(module)
    params = {name: p.detach() for name, p in module.named_parameters()}
    return functional_call(module, params, args, kwargs, strict=False)


def snapshot_call(module: torch.nn.Module, *args):
    """Call ``module`` on a detached copy of its weights.

    Unlike :func:`frozen_call` the copy survives the in-place optimizer
    step that follows, so the output keeps the weights of the moment it was
    computed (MCLNet's authors compute L_e from M before its update).
    """
    module = unwrap(module)
    params = {name: p.detach().clone() for name, p in module.named_parameters()}
    return functional_call(module, params, args, strict=False)


class AlternatingReIDModel(BaseModel):
    """A model trained in two steps per iteration over an ``OptimWrapperDict``.

    Step 1 updates the adversary (keys ``adversary``) on detached features;
    step 2 updates everything else (key ``main``) with the adversary frozen
    (:func:`frozen_call`). Subclasses implement:

    - ``forward_train(inputs, data_samples) -> dict`` of the tensors both steps need;
    - ``adversary_loss(detached: dict, data_samples) -> dict`` of ``loss_*`` terms;
    - ``main_loss(features: dict, data_samples) -> dict`` of ``loss_*`` terms;
    - optionally ``after_adversary_step(features) -> dict``: features that
      depend on the adversary's update, for the main step.

    The features are computed once and shared by both steps.

    Args:
        graph_losses: in training on a GPU, replay both loss functions
            (forward and backward) as CUDA graphs (:mod:`.loss_graphs`). Their
            features must then be all tensors and carry everything the terms
            need: a graphed loss may not read its ``data_samples``. The
            model's plain settings (``loss_weights``, switches) are part of
            each graph's key; its modules' settings are fixed at capture.
        **kwargs: ``BaseModel``'s.
    """

    main_key = 'main'
    adversary_key = 'adversary'

    def __init__(self, graph_losses: bool = False, **kwargs):
        super().__init__(**kwargs)
        self.graph_losses = graph_losses
        self._loss_graphs = LossGraphs()

    def train_step(self, data, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        main, adversary = optim_wrapper[self.main_key], optim_wrapper[self.adversary_key]
        refuse_accumulation(self, (main, adversary))
        data = self.data_preprocessor(data, True)
        inputs, data_samples = data['inputs'], data['data_samples']
        with main.optim_context(self):
            features = self.forward_train(inputs, data_samples)

        detached = {k: v.detach() if torch.is_tensor(v) else v for k, v in features.items()}
        with adversary.optim_context(self):
            adversary_losses = self.loss_terms(self.adversary_loss, detached, data_samples)
        adversary_total, adversary_log = self.parse_losses(adversary_losses)
        guarded_update(adversary, adversary_total, adversary_log, self.adversary_key)
        # nothing of the adversary step's graph may live on into the main step
        # (guarded_update detached its log): see loss_graphs.reached_parameters
        del adversary_losses, adversary_total

        with main.optim_context(self):
            features = self.after_adversary_step(features)
            main_losses = self.loss_terms(self.main_loss, features, data_samples)
        main_total, log_vars = self.parse_losses(main_losses)
        guarded_update(main, main_total, log_vars, self.main_key)

        # parse_losses names both totals 'loss': keep both in the log
        adversary_log['loss_adversary'] = adversary_log.pop('loss')
        log_vars.update(adversary_log)
        return log_vars

    def loss_terms(self, loss_fn, features: dict, data_samples: Sequence) -> dict:
        """``loss_fn(features, data_samples)``, replayed as a CUDA graph where ``graph_losses`` allows."""
        on_gpu = any(torch.is_tensor(v) and v.is_cuda for v in features.values())
        if self.graph_losses and self.training and torch.is_grad_enabled() and on_gpu:
            return self._loss_graphs(loss_fn, features, data_samples, self, self._settings())
        return loss_fn(features, data_samples)

    def _settings(self) -> tuple:
        """The model's own plain attributes (loss weights, switches), hashable."""
        def frozen(value):
            return tuple(sorted(value.items())) if isinstance(value, dict) else value
        settings = []
        for name, value in sorted(vars(self).items()):
            if name.startswith('_') or not isinstance(value, (bool, int, float, str, tuple, dict)):
                continue
            value = frozen(value)
            try:
                hash(value)
            except TypeError:  # nested containers: fixed at capture
                continue
            settings.append((name, value))
        return tuple(settings)

    def after_adversary_step(self, features: dict) -> dict:
        """The main step's features, given the updated adversary (here: unchanged).

        What the main loss needs of the updated adversary is computed here,
        eagerly, so that a graphed main loss takes it as a feature.
        """
        return features

    def forward_train(self, inputs, data_samples) -> dict:
        raise NotImplementedError

    def adversary_loss(self, features: dict, data_samples: Sequence) -> dict:
        raise NotImplementedError

    def main_loss(self, features: dict, data_samples: Sequence) -> dict:
        raise NotImplementedError
