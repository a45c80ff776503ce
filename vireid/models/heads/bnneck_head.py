"""BNNeck head (Luo et al., 2019): ID loss after BN, metric loss before it."""
from typing import Dict, List, Optional

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from vireid.registry import MODELS
from vireid.structures import ReIDDataSample, batch_labels


def bnneck_bn(in_channels: int) -> nn.BatchNorm1d:
    """BatchNorm1d with its bias frozen at zero (no shift before the classifier)."""
    bn = nn.BatchNorm1d(in_channels)
    bn.bias.requires_grad_(False)
    return bn


@MODELS.register_module()
class BNNeckHead(BaseModule):
    """BNNeck: pooled feature -> BN1d (frozen zero bias) -> bias-free Linear.

    Args:
        in_channels: channels of the pooled feature.
        num_classes: training identities.
        neck_feat: test feature: ``'after'`` the BN (AGW's default) or
            ``'before'`` it.
        loss_cls: identity loss on the logits (``CrossEntropyLoss`` or
            ``LabelSmoothLoss`` of mmpretrain, ...), called as
            ``loss_cls(logits, labels)``.
        loss_triplet: metric loss on the features before the BN
            (``WRTLoss``, ``TripletLoss``), ``loss_triplet(feats, labels)``;
            ``None`` for none.

    ``loss(feats [B, C], data_samples) -> dict(loss_id, loss_tri, acc_id)``
    uses the samples' ``gt_label``; ``loss_by_feat(feats, labels)`` is the
    same from a label tensor, ``loss_by_logits(feats, logits, labels)`` from
    logits already computed. ``forward(feats) -> logits``,
    ``predict(feats) -> test features`` (not normalised).
    """

    def __init__(self,
                 in_channels: int,
                 num_classes: int,
                 neck_feat: str = 'after',
                 loss_cls: dict = dict(type='CrossEntropyLoss', loss_weight=1.0),
                 loss_triplet: Optional[dict] = dict(type='WRTLoss', loss_weight=1.0),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if neck_feat not in ('after', 'before'):
            raise ValueError(f"neck_feat must be 'after' or 'before', got {neck_feat!r}")
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.in_channels = in_channels
        self.num_classes = num_classes
        self.neck_feat = neck_feat
        self.bn = bnneck_bn(in_channels)
        self.classifier = nn.Linear(in_channels, num_classes, bias=False)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_triplet = MODELS.build(loss_triplet) if loss_triplet else None
        self.init_weights()

    def init_weights(self) -> None:
        # As AGW / BoT: BN scale ~ 1, classifier weights tiny so the first
        # logits are near uniform.
        nn.init.normal_(self.bn.weight, 1.0, 0.01)
        nn.init.zeros_(self.bn.bias)
        nn.init.normal_(self.classifier.weight, std=0.001)
        self._is_init = True

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.bn(feats))

    def loss(self, feats: torch.Tensor,
             data_samples: List[ReIDDataSample]) -> Dict[str, torch.Tensor]:
        labels = batch_labels(data_samples, 'gt_label', feats.device)
        return self.loss_by_feat(feats, labels)

    def loss_by_feat(self, feats: torch.Tensor,
                     labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        return self.loss_by_logits(feats, self(feats), labels)

    def loss_by_logits(self, feats: torch.Tensor, logits: torch.Tensor,
                       labels: torch.Tensor) -> Dict[str, torch.Tensor]:
        """The losses from logits already computed by ``self(feats)``.

        Under MMSeparateDistributedDataParallel the head is wrapped: the
        model calls the wrapper for the logits, then this on the inner head.
        """
        losses = dict(loss_id=self.loss_cls(logits, labels))
        if self.loss_triplet is not None:
            losses['loss_tri'] = self.loss_triplet(feats, labels)
        with torch.no_grad():
            # A tensor, not a Python number: logging must not sync the step.
            losses['acc_id'] = (logits.argmax(1) == labels).float().mean() * 100
        return losses

    def predict(self, feats: torch.Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None) -> torch.Tensor:
        return self.bn(feats) if self.neck_feat == 'after' else feats
