"""FMCNet's shared-specific feature fusion (SFF, eqs. 15-16) and its identity classifiers."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from vireid.registry import MODELS


@MODELS.register_module()
class IdentityClassifier(BaseModule):
    """Identity classifier P (P_sp^V, P_sp^I, P_sh, P_fp of FMCNet): logits of a feature.

    Args:
        in_channels: feature width.
        num_classes: training identities.
        with_bn: put a BatchNorm1d (bias frozen at 0, as in BNNeck) before the
            linear layer, which then has no bias. Off by default: the paper
            feeds the features to the classifiers directly, and FMCNet sends
            generated features through the specific classifiers (eq. 14),
            whose batch statistics would then mix into the BN's.
    """

    def __init__(self, in_channels: int, num_classes: int, with_bn: bool = False,
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Linear', std=0.001)):
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.bn = None
        if with_bn:
            self.bn = nn.BatchNorm1d(in_channels)
            self.bn.bias.requires_grad_(False)
        self.fc = nn.Linear(in_channels, num_classes, bias=not with_bn)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.bn is not None:
            x = self.bn(x)
        return self.fc(x)


def weighted_fusion(specific: torch.Tensor, generated: torch.Tensor,
                    w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """Eq. 15: ``F_fu,m = w1 F_sp,m + w2 F'_sp,m'`` (``w1``, ``w2`` scalars or ``[N, 1]``)."""
    return w1 * specific + w2 * generated


def fused_person_feature(shared: torch.Tensor, fused_specific: torch.Tensor) -> torch.Tensor:
    """Eq. 16: ``F_fp,m = Cat(F_sh,m, F_fu,m)`` along the channels."""
    return torch.cat([shared, fused_specific], dim=1)


@MODELS.register_module()
class SharedSpecificFusion(BaseModule):
    """SFF: learnable weighted fusion (eq. 15), concatenation (eq. 16) and P_fp.

    Args:
        in_channels: width of F_sh, F_sp and F'_sp (F_fp is twice as wide).
        num_classes: training identities, for the shared classifier P_fp.
        per_modality: one (w1, w2) pair per modality (default) or one pair
            for both.
        init_weights: initial (w1, w2). (0.5, 0.5) makes F_fu the average of
            the real and generated specific features at the start, so its
            scale matches F_sh's in the concatenation.
        classifier: config of P_fp (``IdentityClassifier`` kwargs other than
            the widths).

    ``forward(shared, specific, generated, modality) -> (F_fp [N, 2C], logits)``;
    ``generated`` holds, for each sample, the features generated for its own
    modality from its shared features (F'_sp,I for a visible sample is fused
    with its F_sp,V). The fusion weights are attributes of this module, so
    that MMSeparateDistributedDataParallel synchronises their gradients.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 num_classes: int = 395,
                 per_modality: bool = True,
                 init_weights: Sequence[float] = (0.5, 0.5),
                 classifier: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if len(init_weights) != 2:
            raise ValueError(f'init_weights must be (w1, w2), got {init_weights}')
        self.per_modality = per_modality
        rows = 2 if per_modality else 1
        self.fusion_weights = nn.Parameter(
            torch.tensor([list(map(float, init_weights))] * rows))
        self.classifier = IdentityClassifier(2 * in_channels, num_classes,
                                             **(classifier or {}))

    def sample_weights(self, modality: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-sample ``(w1 [N, 1], w2 [N, 1])`` picked by modality."""
        index = modality if self.per_modality else torch.zeros_like(modality)
        weights = self.fusion_weights.index_select(0, index)
        return weights[:, :1], weights[:, 1:]

    def fuse(self, shared: torch.Tensor, specific: torch.Tensor,
             generated: torch.Tensor, modality: torch.Tensor) -> torch.Tensor:
        """Eqs. 15-16: F_fp of each sample (the test feature)."""
        w1, w2 = self.sample_weights(modality)
        return fused_person_feature(
            shared, weighted_fusion(specific, generated, w1.to(specific.dtype),
                                    w2.to(specific.dtype)))

    def forward(self, shared: torch.Tensor, specific: torch.Tensor,
                generated: torch.Tensor,
                modality: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        fused = self.fuse(shared, specific, generated, modality)
        return fused, self.classifier(fused)
