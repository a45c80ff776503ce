"""The training augmentations of the ReID pipelines, on a whole batch on its device.

Each draws its random numbers per image with torch on the batch's device (no
host sync) and follows the distribution of the per-image transform it
replaces, so a config may move them from the dataloader workers to the data
preprocessor without changing what the model sees:

- :class:`BatchRandomCrop`: mmcv ``RandomCrop(padding=p)`` at the image's own
  size: pad by ``p`` with ``pad_val``, crop at an offset uniform in
  ``0..2p`` (both ends included) on each axis.
- :class:`BatchRandomFlip`: mmcv ``RandomFlip(direction='horizontal')``.
- :class:`BatchRandomGrayscale`: mmpretrain ``RandomGrayscale(keep_channels=True)``.
- :class:`BatchRandomErasing`: mmpretrain ``RandomErasing(mode='const')``.

They take and return float ``[B, C, H, W]`` batches in the pixel range and
channel order of the decoded images (the data preprocessor applies them
before its BGR-to-RGB swap and normalisation), so fill colours are written
as in the pipelines.
"""
import math
from typing import Sequence

import torch

from vireid.registry import MODELS


def on_device(values: Sequence[float], like: torch.Tensor) -> torch.Tensor:
    """``values`` as a tensor of ``like``'s dtype on its device, copied without waiting.

    (``like.new_tensor(values)`` copies synchronously: the host would wait for
    the GPU to finish all the work queued before it.)
    """
    return torch.tensor(values, dtype=like.dtype).to(like.device, non_blocking=True)


def random_crop_offsets(batch: int, padding: int, device) -> torch.Tensor:
    """``[B, 2]`` (dy, dx) offsets into the padded image, uniform in ``0..2p``."""
    return torch.randint(0, 2 * padding + 1, (batch, 2), device=device)


def crop_padded(images: torch.Tensor, offsets: torch.Tensor, padding: int,
                pad_val: float = 0.) -> torch.Tensor:
    """Crop each image of ``images`` padded by ``padding`` at its ``offsets``.

    Output pixel ``(i, j)`` of image ``b`` is input pixel
    ``(i + dy_b - p, j + dx_b - p)``, or ``pad_val`` where that falls outside.
    """
    b, c, h, w = images.shape
    rows = torch.arange(h, device=images.device) + offsets[:, :1] - padding   # B, H
    cols = torch.arange(w, device=images.device) + offsets[:, 1:] - padding   # B, W
    inside = (((rows >= 0) & (rows < h))[:, :, None] &
              ((cols >= 0) & (cols < w))[:, None, :])                        # B, H, W
    # a gather over flattened positions: advanced indexing with several index
    # tensors waits for the GPU on CUDA
    source = rows.clamp(0, h - 1)[:, :, None] * w + cols.clamp(0, w - 1)[:, None, :]
    pixels = images.permute(0, 2, 3, 1).reshape(b, h * w, c)
    picked = pixels.gather(1, source.view(b, h * w, 1).expand(b, h * w, c))
    out = picked.masked_fill(~inside.view(b, h * w, 1), pad_val)
    return out.view(b, h, w, c).permute(0, 3, 1, 2)


def random_erasing_boxes(batch: int, img_hw, min_area_ratio: float, max_area_ratio: float,
                         aspect_range: Sequence[float], device) -> torch.Tensor:
    """``[B, 4]`` (top, left, h, w) boxes drawn as mmpretrain's ``RandomErasing.random_patch``.

    Aspect ratio log-uniform in ``aspect_range``, area uniform in
    ``[min, max] * H * W``, sides rounded and clipped to the image, the
    corner uniform over ``0 .. H - h - 1`` (0 when the box spans the image).
    """
    img_h, img_w = img_hw
    log_lo, log_hi = math.log(aspect_range[0]), math.log(aspect_range[1])
    aspect = torch.exp(torch.empty(batch, device=device).uniform_(log_lo, log_hi))
    area = img_h * img_w * torch.empty(batch, device=device).uniform_(min_area_ratio,
                                                                       max_area_ratio)
    h = torch.sqrt(area * aspect).round().clamp(max=img_h)
    w = torch.sqrt(area / aspect).round().clamp(max=img_w)
    top = (torch.rand(batch, device=device) * (img_h - h)).floor()
    left = (torch.rand(batch, device=device) * (img_w - w)).floor()
    return torch.stack([top, left, h, w], dim=1).long()


def erase_boxes(images: torch.Tensor, boxes: torch.Tensor, erase: torch.Tensor,
                fill: Sequence[float]) -> torch.Tensor:
    """Fill box ``b`` of each image whose ``erase[b]`` is set with the colour ``fill``."""
    _, c, h, w = images.shape
    top, left, bh, bw = boxes.unbind(1)
    rows = torch.arange(h, device=images.device)
    cols = torch.arange(w, device=images.device)
    in_rows = (rows >= top[:, None]) & (rows < (top + bh)[:, None])           # B, H
    in_cols = (cols >= left[:, None]) & (cols < (left + bw)[:, None])         # B, W
    mask = (in_rows[:, :, None] & in_cols[:, None, :] & erase[:, None, None])[:, None]
    colour = on_device(fill, images).view(1, c, 1, 1)
    return torch.where(mask, colour, images)


@MODELS.register_module()
class BatchRandomCrop:
    """Pad by ``padding`` (``pad_val``) and randomly crop back to the input size, per image."""

    def __init__(self, padding: int, pad_val: float = 0.):
        self.padding, self.pad_val = int(padding), float(pad_val)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        offsets = random_crop_offsets(images.size(0), self.padding, images.device)
        return crop_padded(images, offsets, self.padding, self.pad_val)


@MODELS.register_module()
class BatchRandomFlip:
    """Flip each image horizontally with probability ``prob``."""

    def __init__(self, prob: float = 0.5):
        self.prob = float(prob)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        flip = torch.rand(images.size(0), device=images.device) < self.prob
        return torch.where(flip[:, None, None, None], images.flip(-1), images)


@MODELS.register_module()
class BatchRandomGrayscale:
    """With probability ``prob`` replace each channel by ``sum_c w_c x_c`` (``w`` normalised).

    As mmpretrain's transform, the grey value is truncated to an integer
    (the image it builds is uint8) and repeated over the channels.
    """

    def __init__(self, prob: float = 0.1, channel_weights: Sequence[float] = (1., 1., 1.)):
        self.prob = float(prob)
        total = float(sum(channel_weights))
        self.channel_weights = tuple(float(w) / total for w in channel_weights)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        weights = on_device(self.channel_weights, images).view(1, -1, 1, 1)
        grey = (images * weights).sum(1, keepdim=True).floor().expand_as(images)
        on = torch.rand(images.size(0), device=images.device) < self.prob
        return torch.where(on[:, None, None, None], grey, images)


@MODELS.register_module()
class BatchRandomErasing:
    """Erase one random box of each image with probability ``erase_prob`` (constant fill).

    Arguments and defaults are mmpretrain ``RandomErasing``'s; ``fill_color``
    is in the images' channel order (BGR for OpenCV-decoded images).
    """

    def __init__(self, erase_prob: float = 0.5, min_area_ratio: float = 0.02,
                 max_area_ratio: float = 0.4, aspect_range=(3 / 10, 10 / 3),
                 fill_color: Sequence[float] = (128, 128, 128)):
        if not 0 <= min_area_ratio <= max_area_ratio <= 1:
            raise ValueError(f'need 0 <= min_area_ratio <= max_area_ratio <= 1, got '
                             f'{min_area_ratio}, {max_area_ratio}')
        self.erase_prob = float(erase_prob)
        self.area_range = (float(min_area_ratio), float(max_area_ratio))
        self.aspect_range = tuple(float(a) for a in aspect_range)
        self.fill_color = tuple(float(c) for c in fill_color)

    def __call__(self, images: torch.Tensor) -> torch.Tensor:
        b, _, h, w = images.shape
        erase = torch.rand(b, device=images.device) < self.erase_prob
        boxes = random_erasing_boxes(b, (h, w), *self.area_range, self.aspect_range,
                                     images.device)
        return erase_boxes(images, boxes, erase, self.fill_color)
