"""AGW (Ye et al., TPAMI 2021): the cross-modality ReID baseline."""
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from vireid.models.cuda_graphs import refuse_accumulation
from vireid.models.utils import follow_preprocessor_memory_format, unwrap
from vireid.registry import MODELS
from vireid.structures import ReIDDataSample, batch_labels
from .loss_guard import guarded_update


@MODELS.register_module()
class AGW(BaseModel):
    """Two-stream backbone -> pooling neck -> BNNeck head.

    Args:
        backbone: e.g. ``TwoStreamResNet``; called as ``backbone(inputs,
            modality)`` and returning a tuple whose first map is pooled.
        neck: pooling, ``[B, C, H, W] -> [B, C]`` (GeM, average pooling).
        head: e.g. ``BNNeckHead`` with ``loss(feats, data_samples)`` and
            ``predict(feats)``.
        data_preprocessor: default ``ReIDDataPreprocessor``.
        flip_test: at test time average the features of the image and its
            horizontal flip before normalising.

    Modes of ``forward(inputs, data_samples, mode)``: ``'loss'`` -> dict of
    losses (and logged tensors); ``'predict'`` -> the data samples with
    ``pred_feature`` set (L2-normalised, ``[C]``); ``'tensor'`` -> the
    un-normalised test features ``[B, C]`` (no flip). Every mode needs the
    data samples: their ``modality`` routes each image.
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 head: dict,
                 data_preprocessor: Optional[Union[dict, torch.nn.Module]] = None,
                 flip_test: bool = False,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReIDDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.head = MODELS.build(head)
        self.flip_test = flip_test
        follow_preprocessor_memory_format(self)

    def forward(self,
                inputs: torch.Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None,
                mode: str = 'tensor'):
        if data_samples is None:
            raise ValueError(f'{type(self).__name__} needs data_samples (their '
                             '"modality" routes each image); got None')
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return unwrap(self.head).predict(self.extract_feat(inputs, data_samples))
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        """``BaseModel.train_step`` with the update skipped on a non-finite loss."""
        refuse_accumulation(self, (optim_wrapper, ))
        with optim_wrapper.optim_context(self):
            data = self.data_preprocessor(data, True)
            losses = self._run_forward(data, mode='loss')
        total, log_vars = self.parse_losses(losses)
        guarded_update(optim_wrapper, total, log_vars)
        return log_vars

    def extract_feat(self, inputs: torch.Tensor,
                     data_samples: List[ReIDDataSample]) -> torch.Tensor:
        """Pooled features ``[B, C]`` of the backbone's first (shared) map."""
        # on the CPU: the backbone groups samples by it without a GPU sync
        modality = batch_labels(data_samples, 'modality')
        maps = self.backbone(inputs, modality)
        return self.neck(maps[0])

    def loss(self, inputs: torch.Tensor,
             data_samples: List[ReIDDataSample]) -> Dict[str, torch.Tensor]:
        feats = self.extract_feat(inputs, data_samples)
        labels = batch_labels(data_samples, 'gt_label', feats.device)
        # the head runs through __call__ so that a DDP wrapper sees its forward
        return unwrap(self.head).loss_by_logits(feats, self.head(feats), labels)

    def predict(self, inputs: torch.Tensor,
                data_samples: List[ReIDDataSample]) -> List[ReIDDataSample]:
        head = unwrap(self.head)
        feats = head.predict(self.extract_feat(inputs, data_samples))
        if self.flip_test:
            flipped = self.extract_feat(inputs.flip(-1), data_samples)
            feats = (feats + head.predict(flipped)) / 2
        feats = F.normalize(feats, dim=1)
        for sample, feat in zip(data_samples, feats):
            sample.pred_feature = feat
        return data_samples
