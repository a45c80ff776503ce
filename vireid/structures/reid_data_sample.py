"""The per-image record that travels from the dataset through the model to the metric."""
from typing import Sequence

import torch
from mmengine.structures import BaseDataElement

LABEL_KEYS = ('gt_label', 'pid', 'camid', 'modality')
VISIBLE, INFRARED = 0, 1


class ReIDDataSample(BaseDataElement):
    """Labels of one image (metainfo) and, after ``predict``, its embedding.

    Metainfo keys: ``gt_label`` (train-relabelled identity, -1 at test time),
    ``pid`` (the dataset's own identity), ``camid``, ``modality``
    (0 visible, 1 infrared) and ``img_path``. Data field: ``pred_feature``.
    """

    @property
    def pred_feature(self) -> torch.Tensor:
        return self._pred_feature

    @pred_feature.setter
    def pred_feature(self, value: torch.Tensor) -> None:
        self.set_field(value, '_pred_feature', dtype=torch.Tensor)

    @pred_feature.deleter
    def pred_feature(self) -> None:
        del self._pred_feature


def batch_labels(data_samples: Sequence[ReIDDataSample], key: str,
                 device=None) -> torch.Tensor:
    """Stack one integer label of every sample into a ``LongTensor``."""
    values = [sample.metainfo[key] for sample in data_samples]
    return torch.tensor(values, dtype=torch.long).to(device, non_blocking=True)
