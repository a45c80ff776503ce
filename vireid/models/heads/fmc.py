"""FMCNet's feature-level modality compensation (FMC) module: generators and discriminators."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule

from vireid.registry import MODELS


@MODELS.register_module()
class FeatureGenerator(BaseModule):
    """G_{V->I} / G_{I->V} (eq. 11): three stacked FC layers, shared -> specific features.

    Args:
        in_channels: width of the shared features F_sh (2048 for ResNet-50).
        out_channels: width of the generated specific features (default
            ``in_channels``).
        hidden_channels: width of the two hidden layers (default
            ``in_channels``).
        act_cfg: activation after the first two layers.
        out_act_cfg: activation after the last layer; ReLU by default because
            the real specific features are average-pooled ReLU maps (never
            negative), so a generator without it would produce values that a
            linear discriminator separates trivially. ``None`` for none.
        init_cfg: Kaiming initialisation (the paper's choice for all
            non-backbone parameters).
    """

    def __init__(self,
                 in_channels: int = 2048,
                 out_channels: Optional[int] = None,
                 hidden_channels: Optional[int] = None,
                 act_cfg: dict = dict(type='ReLU'),
                 out_act_cfg: Optional[dict] = dict(type='ReLU'),
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Linear', mode='fan_in',
                     nonlinearity='relu')):
        super().__init__(init_cfg=init_cfg)
        out_channels = out_channels or in_channels
        hidden_channels = hidden_channels or in_channels
        layers = [
            nn.Linear(in_channels, hidden_channels), build_activation_layer(act_cfg),
            nn.Linear(hidden_channels, hidden_channels), build_activation_layer(act_cfg),
            nn.Linear(hidden_channels, out_channels)
        ]
        if out_act_cfg is not None:
            layers.append(build_activation_layer(out_act_cfg))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


@MODELS.register_module()
class FeatureDiscriminator(BaseModule):
    """D_{V->I} / D_{I->V}: one FC layer followed by a sigmoid.

    ``forward`` returns the logit (the value before the sigmoid, ``[N]``) so
    that the losses use the numerically stable BCE-with-logits; the score
    S_t of the paper is ``predict_proba`` (``D > 0.5``: real).
    """

    def __init__(self,
                 in_channels: int = 2048,
                 init_cfg: Optional[dict] = dict(
                     type='Kaiming', layer='Linear', mode='fan_in',
                     nonlinearity='sigmoid')):
        super().__init__(init_cfg=init_cfg)
        self.fc = nn.Linear(in_channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).squeeze(-1)

    def predict_proba(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward(x))
