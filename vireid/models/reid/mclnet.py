"""MCLNet (Hao et al., ICCV 2021): AGW + modality confusion min-max (eqs. 1-3)
+ identity / camera-aware marginal center aggregation (eqs. 5-6)."""
from typing import Dict, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapperDict

from vireid.models.losses.mclnet_losses import modality_accuracy
from vireid.models.utils import unwrap
from vireid.registry import MODELS
from vireid.structures import ReIDDataSample, batch_labels
from .agw import AGW
from .alternating import AlternatingReIDModel, frozen_call, snapshot_call

CENTER_FEATURES = ('after_bn', 'before_bn')
CONFUSION_LOGITS = ('updated', 'before_update')


@MODELS.register_module()
class MCLNet(AlternatingReIDModel, AGW):
    """Modality Confusion Learning Network on the AGW extractor.

    Per iteration with the modality confusion module (MCM) on
    (``modality_classifier`` given; needs an ``OptimWrapperDict`` with keys
    ``main`` and ``adversary``, the latter owning ``modality_classifier``):

    1. M step, eq. 1: ``L_m = CE(M(f.detach()), true modality)``; only M moves.
    2. E step, eq. 8: ``L_b + L_e + lambda (L_ica + L_cca)``, ``L_e`` (eq. 2)
       the soft CE of ``M(f)`` against ``[0.5, 0.5]`` computed with M's
       weights frozen, so the E step never changes M.

    ``f`` is the pooled feature (before the BNNeck). With the MCM off
    (``modality_classifier=None``) the model trains in one ordinary step
    (AGW's guarded ``train_step``, one optimizer) on ``L_b + lambda (L_ica + L_cca)``.

    Args:
        backbone, neck, head, data_preprocessor, flip_test: as :class:`AGW`.
        modality_classifier: the MCM (``ModalityClassifier``) or ``None``.
        loss_modality: eq. 1 module (``ModalityClassificationLoss``).
        loss_confusion: eq. 2 module (``ModalityConfusionLoss``).
        ica: identity-aware center loss (``MarginalCenterAggregationLoss``;
            ``loss_weight`` is lambda); ``num_classes`` / ``feat_dim``
            default to the head's; ``None`` disables it.
        cca: camera-aware center loss, same type; ``None`` disables it
            (RegDB). ``num_classes`` defaults to ``len(camera_ids)``.
        camera_ids: the dataset's camera ids in center order: a sample with
            ``camid == camera_ids[k]`` uses camera center ``k`` (SYSU-MM01:
            ``(1, 2, 3, 4, 5, 6)``). Required with ``cca``.
        center_feature: the feature ICA/CCA see: ``'after_bn'`` (the BNNeck
            output, the authors' code) or ``'before_bn'`` (the pooled one).
        confusion_logits: M's weights for L_e: ``'updated'`` (after this
            iteration's M step: alternating updates as the paper describes)
            or ``'before_update'`` (the authors' code).
        graph_losses: in training on a GPU, replay both steps' loss terms as
            CUDA graphs (see :class:`AlternatingReIDModel`); the labels,
            modalities and camera indices travel in the features.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 modality_classifier: Optional[dict] = None,
                 loss_modality: dict = dict(type='ModalityClassificationLoss'),
                 loss_confusion: dict = dict(type='ModalityConfusionLoss'),
                 ica: Optional[dict] = None,
                 cca: Optional[dict] = None,
                 camera_ids: Optional[Sequence[int]] = None,
                 center_feature: str = 'after_bn',
                 confusion_logits: str = 'updated',
                 graph_losses: bool = False,
                 data_preprocessor: Optional[Union[dict, torch.nn.Module]] = None,
                 flip_test: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(graph_losses=graph_losses, backbone=backbone, neck=neck, head=head,
                         data_preprocessor=data_preprocessor, flip_test=flip_test,
                         init_cfg=init_cfg)
        if center_feature not in CENTER_FEATURES:
            raise ValueError(f'center_feature must be one of {CENTER_FEATURES}, '
                             f'got {center_feature!r}')
        if confusion_logits not in CONFUSION_LOGITS:
            raise ValueError(f'confusion_logits must be one of {CONFUSION_LOGITS}, '
                             f'got {confusion_logits!r}')
        self.center_feature = center_feature
        self.confusion_logits = confusion_logits

        if modality_classifier is not None:
            self.modality_classifier = MODELS.build(modality_classifier)
            self.loss_modality = MODELS.build(loss_modality)
            self.loss_confusion = MODELS.build(loss_confusion)
        else:
            self.modality_classifier = None

        feat_dim, num_ids = self.head.in_channels, self.head.num_classes
        self.ica = None
        if ica is not None:
            ica = dict(ica)
            ica.setdefault('num_classes', num_ids)
            ica.setdefault('feat_dim', feat_dim)
            self.ica = MODELS.build(ica)

        self.cca = None
        self._camera_index: Dict[int, int] = {}
        if cca is not None:
            if not camera_ids:
                raise ValueError('cca needs camera_ids: the dataset camera ids in '
                                 'center order, e.g. (1, 2, 3, 4, 5, 6) for SYSU-MM01')
            if len(set(camera_ids)) != len(camera_ids):
                raise ValueError(f'camera_ids has duplicates: {list(camera_ids)}')
            self._camera_index = {int(c): k for k, c in enumerate(camera_ids)}
            cca = dict(cca)
            cca.setdefault('num_classes', len(camera_ids))
            cca.setdefault('feat_dim', feat_dim)
            if cca['num_classes'] != len(camera_ids):
                raise ValueError(f"cca num_classes={cca['num_classes']} but "
                                 f'{len(camera_ids)} camera_ids {list(camera_ids)}')
            self.cca = MODELS.build(cca)

    # ------------------------------------------------------------------ steps
    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        if self.modality_classifier is None:
            if isinstance(optim_wrapper, OptimWrapperDict):
                raise ValueError('MCLNet without modality_classifier trains with one '
                                 'ordinary optim_wrapper, got an OptimWrapperDict with '
                                 f'keys {list(optim_wrapper.keys())}')
            return AGW.train_step(self, data, optim_wrapper)
        if not isinstance(optim_wrapper, OptimWrapperDict):
            raise ValueError('MCLNet with a modality_classifier needs optim_wrapper = '
                             "dict(constructor='MultiOptimWrapperConstructor', main=..., "
                             "adversary=dict(..., modules=['modality_classifier'])); got "
                             f'{type(optim_wrapper).__name__}')
        return super().train_step(data, optim_wrapper)

    def forward_train(self, inputs: torch.Tensor,
                      data_samples: List[ReIDDataSample]) -> dict:
        pooled = self.extract_feat(inputs, data_samples)
        # the labels as tensors: a graphed loss sees its features only
        features = dict(pooled=pooled, **self.label_tensors(data_samples, pooled.device))
        if self.confusion_logits == 'before_update':
            features['confusion_logits'] = snapshot_call(self.modality_classifier, pooled)
        return features

    def after_adversary_step(self, features: dict) -> dict:
        """L_e's logits from M as just updated, outside any graphed loss (M frozen)."""
        if self.confusion_logits == 'updated':
            features = dict(features, confusion_logits=frozen_call(
                self.modality_classifier, features['pooled']))
        return features

    def adversary_loss(self, features: dict, data_samples) -> Dict[str, torch.Tensor]:
        """Eq. 1 on detached features; logs M's modality accuracy (%)."""
        logits = self.modality_classifier(features['pooled'])
        modality = features['modality']
        with torch.no_grad():
            accuracy = modality_accuracy(logits, modality) * 100
        return dict(loss_modality=self.loss_modality(logits, modality),
                    acc_modality=accuracy)

    def main_loss(self, features: dict, data_samples) -> Dict[str, torch.Tensor]:
        """Eq. 8: L_b + L_e + lambda (L_ica + L_cca), M frozen."""
        pooled = features['pooled']
        losses = self.reid_losses(pooled, features['labels'], features.get('cameras'))
        logits = features.get('confusion_logits')
        if logits is None:  # a call outside train_step
            logits = frozen_call(self.modality_classifier, pooled)
        losses['loss_confusion'] = self.loss_confusion(logits)
        return losses

    def loss(self, inputs: torch.Tensor,
             data_samples: List[ReIDDataSample]) -> Dict[str, torch.Tensor]:
        """One-step training (MCM off): L_b + lambda (L_ica + L_cca)."""
        pooled = self.extract_feat(inputs, data_samples)
        labels = self.label_tensors(data_samples, pooled.device)
        return self.reid_losses(pooled, labels['labels'], labels.get('cameras'))

    # ----------------------------------------------------------------- losses
    def reid_losses(self, pooled: torch.Tensor, labels: torch.Tensor,
                    cameras: Optional[torch.Tensor]) -> Dict[str, torch.Tensor]:
        """L_b (eq. 7: ID + WRT through the head) and the center terms."""
        # the head runs through __call__ so that a DDP wrapper sees its forward
        losses = unwrap(self.head).loss_by_logits(pooled, self.head(pooled), labels)
        if self.ica is None and self.cca is None:
            return losses
        feats = self.bnneck_feature(pooled) if self.center_feature == 'after_bn' else pooled
        if self.ica is not None:
            losses['loss_ica'] = self.ica(feats, labels)
        if self.cca is not None:
            losses['loss_cca'] = self.cca(feats, cameras)
        return losses

    def label_tensors(self, data_samples: List[ReIDDataSample], device) -> Dict[str, torch.Tensor]:
        """What the losses read of the data samples: identities, modalities, camera centers."""
        labels = dict(labels=batch_labels(data_samples, 'gt_label', device),
                      modality=batch_labels(data_samples, 'modality', device))
        if self.cca is not None:
            labels['cameras'] = self.camera_labels(data_samples, device)
        return labels

    def bnneck_feature(self, pooled: torch.Tensor) -> torch.Tensor:
        """The head's BN output in training mode (batch statistics), without
        touching its running statistics a second time."""
        bn = unwrap(self.head).bn
        return F.batch_norm(pooled, None, None, bn.weight, bn.bias, training=True,
                            eps=bn.eps)

    def camera_labels(self, data_samples: List[ReIDDataSample], device) -> torch.Tensor:
        """Camera center indices: position of each sample's ``camid`` in ``camera_ids``."""
        index = []
        for sample in data_samples:
            camid = sample.metainfo['camid']
            if camid not in self._camera_index:
                raise ValueError(f'camid {camid} of {sample.metainfo.get("img_path")} is not '
                                 f'in camera_ids {sorted(self._camera_index)}')
            index.append(self._camera_index[camid])
        return torch.tensor(index, dtype=torch.long).to(device, non_blocking=True)
