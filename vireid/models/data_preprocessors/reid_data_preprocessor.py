"""Batch assembly and normalisation on the model's device."""
from typing import Optional, Sequence

import torch
from mmengine.model import ImgDataPreprocessor
from mmengine.structures import BaseDataElement
from mmengine.utils import is_seq_of

from vireid.registry import MODELS

IMAGENET_MEAN = (123.675, 116.28, 103.53)
IMAGENET_STD = (58.395, 57.12, 57.375)


@MODELS.register_module()
class ReIDDataPreprocessor(ImgDataPreprocessor):
    """Stack uint8 ``[3, H, W]`` images, move them, then normalise on the device.

    Stacking before the transfer keeps the host-to-device copy in uint8 (4x
    smaller than float); conversion and normalisation then run on the device.
    All images of a batch must have the same size (ReID pipelines resize to
    a fixed size, so there is no padding).

    Args:
        mean, std: per-channel statistics in 0-255 RGB order (ImageNet's by
            default); ``None`` for both disables normalisation.
        bgr_to_rgb: images arrive in OpenCV's BGR order (default True).
        channels_last: return the batch in ``torch.channels_last`` memory
            format (faster convolutions with bf16 on GPUs).
        non_blocking: asynchronous host-to-device copy.
        batch_augments: training-only augmentations of the whole batch on
            its device (``BatchRandomCrop``, ``BatchRandomFlip``,
            ``BatchRandomErasing``), applied in order to the float images in
            their decoded channel order and 0-255 range, before the channel
            swap and normalisation: the pipelines' random transforms moved
            off the dataloader workers (the ``*_packed`` configs).

    ``forward(data, training) -> dict(inputs=float [B, 3, H, W],
    data_samples=list[ReIDDataSample])``; ``data['inputs']`` may be a list
    of ``[3, H, W]`` tensors or a ``[B, 3, H, W]`` tensor. Data samples
    that hold only metainfo (the labels: ``vireid.structures.batch_labels``)
    and predictions pass through as the same objects; those with other data
    fields are moved to the device.
    """

    def __init__(self,
                 mean: Optional[Sequence[float]] = IMAGENET_MEAN,
                 std: Optional[Sequence[float]] = IMAGENET_STD,
                 bgr_to_rgb: bool = True,
                 channels_last: bool = False,
                 non_blocking: bool = True,
                 batch_augments: Optional[Sequence[dict]] = None):
        super().__init__(
            mean=mean, std=std, bgr_to_rgb=bgr_to_rgb,
            non_blocking=non_blocking)
        self.channels_last = channels_last
        self.batch_augments = [
            MODELS.build(cfg) if isinstance(cfg, dict) else cfg
            for cfg in (batch_augments or ())
        ]

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        if is_seq_of(inputs, torch.Tensor):
            shapes = {tuple(img.shape) for img in inputs}
            if len(shapes) != 1:
                raise ValueError('all images of a batch must have the same '
                                 f'[C, H, W]; got shapes {sorted(shapes)}')
            inputs = torch.stack(list(inputs))
        elif not isinstance(inputs, torch.Tensor):
            raise TypeError('data["inputs"] must be a tensor or a list of '
                            f'tensors, got {type(inputs).__name__}')
        if inputs.dim() != 4 or inputs.size(1) != 3:
            raise ValueError('inputs must be [B, 3, H, W] (or a list of '
                             f'[3, H, W]); got {tuple(inputs.shape)}')
        inputs = self.cast_data(inputs).float()
        data_samples = data.get('data_samples')
        if data_samples is not None and not holds_no_inputs(data_samples):
            data_samples = self.cast_data(data_samples)
        if training:
            for augment in self.batch_augments:
                inputs = augment(inputs)
        if self._channel_conversion:
            inputs = inputs.flip(1)
        if self._enable_normalize:
            inputs = (inputs - self.mean) / self.std
        if self.channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
        return dict(inputs=inputs, data_samples=data_samples)


def holds_no_inputs(data_samples) -> bool:
    """Whether ``data_samples`` are data elements with no data field but predictions (``pred_*``).

    Moving a data element copies its metainfo (a deepcopy per sample): 0.8 ms
    of host time for a batch of 64 on a 2-core CPU, in every step, for labels
    the models read on the host anyway (docs/benchmark.md, point 18). A
    prediction left from an earlier pass (a batch fed twice) is no input.
    """
    return is_seq_of(data_samples, BaseDataElement) and all(
        key.startswith('pred_') for sample in data_samples for key in sample.keys())
