"""The test-feature path of a model with the modality fixed, for export."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.necks import GeneralizedMeanPooling

from vireid.models.necks import generalized_mean
from vireid.models.utils import unwrap
from vireid.structures import INFRARED, VISIBLE

BRANCHES = {VISIBLE: 'visible', INFRARED: 'infrared'}


class FixedModalityEncoder(nn.Module):
    """``normalised images [B, 3, H, W] -> L2-normalised test features [B, C]``.

    The same features as the model's ``predict`` for images of one modality,
    but calling that modality's backbone branch directly: the models route a
    mixed batch with data-dependent indexing, which an exported graph would
    freeze at the traced batch size.

    Supports :class:`AGW` and its subclasses (MCLNet) and :class:`FMCNet`
    (every ``test_feature``); ``flip_test`` is honoured.

    Args:
        model: a built vireid model (eval mode for export).
        modality: 0 (visible) or 1 (infrared).
    """

    def __init__(self, model: nn.Module, modality: int):
        super().__init__()
        from vireid.models.reid import AGW, FMCNet
        if modality not in BRANCHES:
            raise ValueError(f'modality must be 0 (visible) or 1 (infrared), got {modality!r}')
        if not isinstance(model, (AGW, FMCNet)):
            raise TypeError(f'FixedModalityEncoder supports AGW, MCLNet and FMCNet, '
                            f'not {type(model).__name__}')
        self.model = model
        self.modality = modality
        self.is_fmcnet = isinstance(model, FMCNet)

    def _pool(self, maps: torch.Tensor) -> torch.Tensor:
        neck = self.model.neck
        if not isinstance(neck, GeneralizedMeanPooling):
            return neck(maps)
        # mmpretrain's own GeM sizes an avg_pool2d kernel from the map's traced
        # shape, which the ONNX exporter cannot keep symbolic
        return generalized_mean(maps, neck.p, neck.eps, neck.clamp)

    def _agw(self, x: torch.Tensor) -> torch.Tensor:
        backbone = self.model.backbone
        maps = backbone.shared(getattr(backbone, BRANCHES[self.modality])(x))
        return unwrap(self.model.head).predict(self._pool(maps))

    def _fmcnet(self, x: torch.Tensor) -> torch.Tensor:
        model, backbone, name = self.model, self.model.backbone, BRANCHES[self.modality]
        early = getattr(backbone, name)(x)
        feats = dict(shared=self._pool(backbone.shared(early)))
        if model.with_sfd:
            feats['specific'] = self._pool(getattr(backbone, f'{name}_tail')(early))
        if model.with_fmc:
            generator = model.generator_i2v if self.modality == INFRARED else model.generator_v2i
            feats['generated'] = generator(feats['shared'])
        if model.test_feature == 'fused':
            # a [B] modality tensor whose length follows the (dynamic) batch
            modality = torch.zeros_like(feats['shared'][:, 0], dtype=torch.long) + self.modality
            return model._fusion.fuse(feats['shared'], feats['specific'],
                                      feats['generated'], modality)
        if model.test_feature == 'concat':
            names = ('shared', 'specific', 'generated') if model.with_fmc else ('shared',
                                                                              'specific')
            return torch.cat([feats[n] for n in names], dim=1)
        return feats[model.test_feature]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        encode = self._fmcnet if self.is_fmcnet else self._agw
        feats = encode(x)
        if self.model.flip_test:
            feats = (feats + encode(x.flip(-1))) / 2
        return F.normalize(feats, dim=1)
