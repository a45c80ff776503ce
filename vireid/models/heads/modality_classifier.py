"""MCLNet's modality confusion module M: a two-layer classifier that tells
visible from infrared embeddings (Hao et al., ICCV 2021, section 3.2)."""
from typing import Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_activation_layer
from mmengine.model import BaseModule

from vireid.registry import MODELS


@MODELS.register_module()
class ModalityClassifier(BaseModule):
    """``Linear(in, hidden) -> act -> Linear(hidden, num_modalities)``: logits.

    Args:
        in_channels: width of the pooled feature fed to it (2048 for ResNet-50).
        hidden_channels: hidden width; the paper gives none, the authors' code 128.
        num_modalities: output logits (2: visible, infrared).
        act_cfg: activation between the layers; ``None`` drops it (the
            authors' code, which makes M a linear map).
        norm_logits: ``BatchNorm1d`` on the logits (the authors' code).
        dropout: dropout before the first layer (0 disables it).
    """

    def __init__(self,
                 in_channels: int = 2048,
                 hidden_channels: int = 128,
                 num_modalities: int = 2,
                 act_cfg: Optional[dict] = dict(type='ReLU'),
                 norm_logits: bool = False,
                 dropout: float = 0.0,
                 init_cfg: Optional[dict] = dict(type='Normal', layer='Linear', std=0.01)):
        super().__init__(init_cfg=init_cfg)
        if in_channels < 1 or hidden_channels < 1 or num_modalities < 2:
            raise ValueError(
                f'ModalityClassifier needs positive widths and at least 2 modalities; got '
                f'in_channels={in_channels}, hidden_channels={hidden_channels}, '
                f'num_modalities={num_modalities}')
        layers = [nn.Dropout(dropout)] if dropout > 0 else []
        layers.append(nn.Linear(in_channels, hidden_channels))
        if act_cfg is not None:
            layers.append(build_activation_layer(act_cfg))
        layers.append(nn.Linear(hidden_channels, num_modalities))
        if norm_logits:
            layers.append(nn.BatchNorm1d(num_modalities))
        self.layers = nn.Sequential(*layers)

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        return self.layers(feats)
