"""The ``*_packed`` configs' fast path for any config: ``tools/train.py CONFIG --fast``.

:func:`use_image_pack` feeds the dataloaders from the image pack
(``tools/dataset_converters/pack_images.py CONFIG`` writes it) and moves the
train pipeline's random transforms to the data preprocessor, as batch
augmentations of the same distributions. :func:`use_gpu_speed_options` adds
the options that change no arithmetic: channels-last convolutions, CUDA
graphs of the backbone (and of the losses, for models that can) and DDP
wrappers the graphs can be captured under. Together they turn
``agw_r50_sysu.py`` into ``agw_r50_sysu_packed.py`` (a test checks this for
every such pair), and give RegDB and LLCM configs the same path.
"""
import inspect

from mmengine.config import Config

from vireid.registry import MODELS

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# pipeline transform -> (batch augmentation, {pipeline argument: augmentation argument});
# arguments left out have the same defaults on both sides
BATCH_AUGMENTS = {
    'RandomCrop': ('BatchRandomCrop', dict(padding='padding', pad_val='pad_val')),
    'RandomFlip': ('BatchRandomFlip', dict(prob='prob')),
    'RandomGrayscale': ('BatchRandomGrayscale', dict(prob='prob',
                                                     channel_weights='channel_weights')),
    'RandomErasing': ('BatchRandomErasing', dict(
        erase_prob='erase_prob', min_area_ratio='min_area_ratio',
        max_area_ratio='max_area_ratio', aspect_range='aspect_range', fill_color='fill_color')),
}
# settings of a transform that its batch augmentation does not have: it must keep these values
REQUIRED = {
    'RandomFlip': dict(direction='horizontal'),
    'RandomErasing': dict(mode='const'),
    'RandomGrayscale': dict(keep_channels=True),
}
# MMEngine's DDP wrappers -> the same, built so that CUDA graphs can be captured under them
CAPTURE_SAFE = {
    'MMDistributedDataParallel': 'CaptureSafeDistributedDataParallel',
    'MMSeparateDistributedDataParallel': 'CaptureSafeSeparateDistributedDataParallel',
}
# what the Runner wraps a model in when the config names no wrapper
RUNNER_DEFAULT_WRAPPER = dict(type='MMDistributedDataParallel', broadcast_buffers=False,
                              find_unused_parameters=False)


def _split_pipeline(pipeline: list, where: str):
    """``(img_hw, random transforms)`` of ``Load, Resize, random..., Pack``, or a ValueError."""
    types = [t.get('type') for t in pipeline]
    if (len(types) < 3 or types[0] != 'LoadReIDImageFromFile' or types[1] != 'Resize'
            or types[-1] != 'PackReIDInputs' or pipeline[1].get('keep_ratio', False)):
        raise ValueError(f'{where}: an image pack replaces a pipeline of LoadReIDImageFromFile, '
                         f'Resize (keep_ratio=False), random transforms, PackReIDInputs; got {types}')
    width, height = pipeline[1]['scale']
    return (height, width), pipeline[2:-1]


def batch_augment(transform: dict, img_hw, where: str) -> dict:
    """The batch augmentation that draws as the pipeline ``transform`` does."""
    kind = transform['type']
    if kind not in BATCH_AUGMENTS:
        raise ValueError(f'{where}: no batch augmentation replaces {kind}; '
                         f'known: {sorted(BATCH_AUGMENTS)}')
    for key, value in REQUIRED.get(kind, {}).items():
        if transform.get(key, value) != value:
            raise ValueError(f'{where}: {kind}({key}={transform[key]!r}) has no batch '
                             f'augmentation; only {key}={value!r}')
    if kind == 'RandomCrop' and tuple(transform.get('crop_size', img_hw)) != tuple(img_hw):
        raise ValueError(f'{where}: RandomCrop(crop_size={transform["crop_size"]}) must crop '
                         f'back to the resized size {tuple(img_hw)}')
    name, arguments = BATCH_AUGMENTS[kind]
    return dict(type=name, **{theirs: transform[ours] for ours, theirs in arguments.items()
                              if ours in transform})


def use_image_pack(cfg: Config) -> None:
    """Read every loader's images from ``DATA_ROOT/packed_{H}x{W}.npy``, augment on the device.

    A pipeline this cannot convert raises before anything in ``cfg`` changes.
    """
    augments, pipelines = None, {}
    for key in LOADERS:
        if key not in cfg or cfg[key] is None:
            continue
        where = f'{key}.dataset.pipeline'
        (height, width), randoms = _split_pipeline(cfg[key].dataset.pipeline, where)
        if key == 'train_dataloader':
            augments = [batch_augment(t, (height, width), where) for t in randoms]
        elif randoms:
            raise ValueError(f'{where}: random transforms at test time '
                             f'({[t["type"] for t in randoms]}) have no image-pack path')
        pipelines[key] = [
            dict(type='LoadReIDImageFromPack', pack_file=f'packed_{height}x{width}.npy',
                 img_size=(height, width)),
            dict(type='PackReIDInputs')]
    for key, pipeline in pipelines.items():
        cfg[key].dataset.pipeline = pipeline
        cfg[key].collate_fn = dict(type='default_collate')
    if augments is not None:
        cfg.model.data_preprocessor.batch_augments = augments


def can_graph_losses(model_type) -> bool:
    """Whether models of ``model_type`` (a class or its registry name) can graph their losses."""
    model_class = MODELS.get(model_type) if isinstance(model_type, str) else model_type
    return 'graph_losses' in inspect.signature(model_class).parameters


def use_cuda_graphs(model_cfg) -> None:
    """Replay the backbone's training passes, and the loss terms of models that can, as CUDA graphs."""
    model_cfg.backbone.cuda_graph = True
    if can_graph_losses(model_cfg.type):
        model_cfg.graph_losses = True


def use_gpu_speed_options(cfg: Config) -> None:
    """Channels-last convolutions, CUDA graphs, capture-safe DDP wrappers, 8 loader workers."""
    cfg.model.data_preprocessor.channels_last = True
    use_cuda_graphs(cfg.model)
    # the *_packed configs' count, with which the pack kept up (docs/benchmark.md)
    cfg.train_dataloader.num_workers = max(cfg.train_dataloader.get('num_workers', 0), 8)
    wrapper = dict(cfg.get('model_wrapper_cfg') or RUNNER_DEFAULT_WRAPPER)
    if wrapper['type'] not in CAPTURE_SAFE:
        raise ValueError(f"model_wrapper_cfg type {wrapper['type']!r} has no capture-safe "
                         f'version; known: {sorted(CAPTURE_SAFE)}')
    wrapper['type'] = CAPTURE_SAFE[wrapper['type']]
    cfg.model_wrapper_cfg = wrapper


def use_fast_path(cfg: Config) -> None:
    """:func:`use_image_pack` and :func:`use_gpu_speed_options`: what ``--fast`` does."""
    use_image_pack(cfg)
    use_gpu_speed_options(cfg)
