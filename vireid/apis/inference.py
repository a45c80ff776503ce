"""Build a model from a config and embed images with it."""
import logging
import os
import os.path as osp
import sys
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.logging import MMLogger
from mmengine.runner import load_checkpoint
from mmengine.utils import ProgressBar

from vireid.registry import MODELS
from vireid.structures import INFRARED, VISIBLE
from vireid.utils.launch import merge_options

ImageLike = Union[str, os.PathLike, np.ndarray]
Images = Union[ImageLike, Sequence[ImageLike]]
Modality = Union[int, Sequence[int]]


def init_model(config: Union[str, os.PathLike, Config],
               checkpoint: Optional[Union[str, os.PathLike]] = None,
               device: str = 'cpu',
               cfg_options: Optional[dict] = None) -> torch.nn.Module:
    """Build the model of a config, load its weights, put it in eval mode.

    Args:
        config: a config file or a :class:`mmengine.Config`.
        checkpoint: weights to load, strictly (a checkpoint of another model
            fails with the missing / unexpected keys). Local files go
            through vireid's weights-only loader
            (:func:`vireid.engine.safe_load`). ``None``: the weights the
            model's own ``init_weights`` gives, as ``tools/test.py
            --untrained`` evaluates (may download ImageNet weights).
        device: ``'cpu'``, ``'cuda'``, ``'cuda:1'``, ...
        cfg_options: overrides merged into the config
            (``{'model.flip_test': True}``).

    Returns:
        The model, with the config as ``model.cfg``.
    """
    if isinstance(config, (str, os.PathLike)):
        config = Config.fromfile(os.fspath(config))
    elif isinstance(config, Config):
        config = config.copy()
    else:
        raise TypeError('config must be a file path or a Config, got '
                        f'{type(config).__name__}')
    merge_options(config, cfg_options)
    if 'model' not in config:
        raise ValueError(f'config {config.filename} has no "model"')
    # imported here so that importing vireid.apis stays light
    from vireid.utils import register_all_modules
    register_all_modules()

    model = MODELS.build(config.model)
    if checkpoint is None:
        # mmengine logs every parameter's initialisation at INFO level
        logger = MMLogger.get_current_instance()
        level = logger.level
        logger.setLevel(logging.WARNING)
        try:
            model.init_weights()
        finally:
            logger.setLevel(level)
    else:
        checkpoint = os.fspath(checkpoint)
        if not osp.isfile(checkpoint) and '://' not in checkpoint:
            raise FileNotFoundError(f'checkpoint not found: {checkpoint}')
        load_checkpoint(model, checkpoint, map_location='cpu', strict=True)
    model.cfg = config
    model.to(device)
    model.eval()
    return model


def _test_pipeline_cfg(cfg: Config) -> list:
    for key in ('test_dataloader', 'val_dataloader'):
        pipeline = cfg.get(key, {}).get('dataset', {}).get('pipeline')
        if pipeline:
            return list(pipeline)
    if cfg.get('test_pipeline'):
        return list(cfg.test_pipeline)
    raise ValueError(f'config {cfg.filename} has no test pipeline '
                     '(test_dataloader.dataset.pipeline or test_pipeline)')


def build_test_pipeline(cfg: Config, from_array: bool = False) -> Compose:
    """The config's test pipeline; ``from_array`` drops its loading step so
    that decoded images (``results['img']``) go straight to the resize."""
    steps = _test_pipeline_cfg(cfg)
    if from_array:
        if 'Load' not in str(steps[0].get('type', '')):
            raise ValueError('the test pipeline must start with an image '
                             f'loading transform, got {steps[0]}')
        steps = steps[1:]
    return Compose(steps)


def _as_list(images: Images) -> list:
    if isinstance(images, (str, os.PathLike)):
        return [images]
    if isinstance(images, np.ndarray) and images.ndim == 3:
        return [images]
    return list(images)


def _modalities(modality: Modality, count: int) -> list:
    values = [modality] * count if isinstance(modality, (int, np.integer)) \
        else list(modality)
    if len(values) != count:
        raise ValueError(f'modality has {len(values)} values for {count} '
                         'images')
    bad = [v for v in values if v not in (VISIBLE, INFRARED)]
    if bad:
        raise ValueError(f'modality must be {VISIBLE} (visible) or '
                         f'{INFRARED} (infrared), got {bad[0]!r}')
    return [int(v) for v in values]


def _results(image: ImageLike, index: int, modality: int) -> dict:
    labels = dict(gt_label=-1, pid=-1, camid=-1, modality=modality)
    if not isinstance(image, np.ndarray):
        return dict(img_path=os.fspath(image), **labels)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f'image {index}: arrays must be HxWx3 uint8 (BGR), '
                         f'got shape {image.shape} {image.dtype}')
    return dict(img=image, img_path=f'<array {index}>',
                img_shape=image.shape[:2], ori_shape=image.shape[:2], **labels)


@torch.no_grad()
def extract_features(model: torch.nn.Module,
                     images: Images,
                     modality: Modality,
                     batch_size: int = 64,
                     progress: Optional[bool] = None) -> torch.Tensor:
    """Test features of images, as the model's ``predict`` computes them.

    Args:
        model: from :func:`init_model` (needs ``model.cfg``).
        images: a path, an ``HxWx3`` uint8 BGR array (OpenCV's order), or a
            sequence of them (mixing is fine).
        modality: ``0`` (visible) / ``1`` (infrared) for all images, or one
            value per image.
        batch_size: images per forward pass.
        progress: show a progress bar; ``None``: when there is more than
            one batch.

    Returns:
        torch.Tensor: float ``[N, C]`` on the CPU, rows L2-normalised, in
        the order of ``images``.
    """
    cfg = getattr(model, 'cfg', None)
    if cfg is None:
        raise ValueError('model has no .cfg (its config): build it with '
                         'vireid.apis.init_model')
    if batch_size < 1:
        raise ValueError(f'batch_size must be positive, got {batch_size}')
    images = _as_list(images)
    if not images:
        raise ValueError('no images given')
    modalities = _modalities(modality, len(images))
    pipelines = {}

    def pipeline(image):
        from_array = isinstance(image, np.ndarray)
        if from_array not in pipelines:
            pipelines[from_array] = build_test_pipeline(cfg, from_array)
        return pipelines[from_array]

    if progress is None:
        progress = len(images) > batch_size
    # the stdout of now, not the one bound when mmengine was imported
    bar = ProgressBar(len(images), file=sys.stdout) if progress else None
    features = []
    for start in range(0, len(images), batch_size):
        batch = []
        for index in range(start, min(start + batch_size, len(images))):
            image = images[index]
            batch.append(pipeline(image)(
                _results(image, index, modalities[index])))
        samples = model.test_step(pseudo_collate(batch))
        features.append(torch.stack([s.pred_feature for s in samples]))
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.file.write('\n')
    return F.normalize(torch.cat(features).float().cpu(), dim=1)
