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

from vireid.datasets.packed_images import DEFAULT_RESIZE, pack_file_name
from vireid.registry import MODELS, TRANSFORMS
from vireid.utils.setup_env import register_all_modules

LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
# pipeline transform -> (batch augmentation, the arguments both take, under the same names)
BATCH_AUGMENTS = {
    'RandomCrop': ('BatchRandomCrop', ('padding', 'pad_val')),
    'RandomFlip': ('BatchRandomFlip', ('prob', )),
    'RandomGrayscale': ('BatchRandomGrayscale', ('prob', 'channel_weights')),
    'RandomErasing': ('BatchRandomErasing', ('erase_prob', 'min_area_ratio', 'max_area_ratio',
                                             'aspect_range', 'fill_color')),
}
# settings a pipeline transform must have (given or by default) for its batch version to match
FIXED_ARGUMENTS = {
    'LoadReIDImageFromFile': {},
    'Resize': dict(keep_ratio=False),
    'RandomCrop': dict(padding_mode='constant', pad_if_needed=False),
    'RandomFlip': dict(direction='horizontal'),
    'RandomErasing': dict(mode='const', fill_std=None),
    'RandomGrayscale': dict(keep_channels=True, color_format='bgr'),
}
# MMEngine's DDP wrappers -> the same, built so that CUDA graphs can be captured under them
CAPTURE_SAFE = {
    'MMDistributedDataParallel': 'CaptureSafeDistributedDataParallel',
    'MMSeparateDistributedDataParallel': 'CaptureSafeSeparateDistributedDataParallel',
}


def _defaults(registry, name: str) -> dict:
    """The default arguments of the class ``name`` of ``registry`` (mmcv's, mmpretrain's or ours)."""
    register_all_modules(init_default_scope=False)
    with registry.switch_scope_and_registry('vireid') as scoped:
        cls = scoped.get(name)
    return {arg: p.default for arg, p in inspect.signature(cls).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _check_arguments(transform: dict, allowed, where: str) -> dict:
    """Refuse an argument outside ``allowed`` or ``FIXED_ARGUMENTS`` that differs from its default.

    Returns the transform's defaults.
    """
    kind = transform['type']
    defaults = _defaults(TRANSFORMS, kind)
    fixed = FIXED_ARGUMENTS[kind]
    for key, value in fixed.items():
        if transform.get(key, defaults.get(key)) != value:
            raise ValueError(f'{where}: {kind}({key}={transform.get(key, defaults.get(key))!r}) '
                             f'has no image-pack version; only {key}={value!r}')
    for key, value in transform.items():
        if key not in {'type', *allowed, *fixed} and value != defaults.get(key, inspect.Parameter.empty):
            raise ValueError(f'{where}: {kind}({key}={value!r}) has no image-pack version')
    return defaults


def _split_pipeline(pipeline: list, where: str):
    """``(img_hw, resize, random transforms)`` of ``Load, Resize, random..., Pack``, or a
    ValueError; ``resize``: the Resize's ``interpolation`` and ``backend``, which the pack keeps."""
    types = [t.get('type') for t in pipeline]
    if types and types[0] == 'LoadReIDImageFromPack':
        raise ValueError(f'{where}: this config already reads an image pack')
    if (len(types) < 3 or types[0] != 'LoadReIDImageFromFile' or types[1] != 'Resize'
            or types[-1] != 'PackReIDInputs'):
        raise ValueError(f'{where}: an image pack replaces a pipeline of LoadReIDImageFromFile, '
                         f'Resize, random transforms, PackReIDInputs; got {types}')
    _check_arguments(pipeline[0], (), where)
    defaults = _check_arguments(pipeline[1], ('scale', *DEFAULT_RESIZE), where)
    width, height = pipeline[1]['scale']
    resize = {key: pipeline[1].get(key, defaults[key]) for key in DEFAULT_RESIZE}
    return (height, width), resize, pipeline[2:-1]


def batch_augment(transform: dict, img_hw, where: str) -> dict:
    """The batch augmentation that draws as the pipeline ``transform`` does."""
    kind = transform['type']
    if kind not in BATCH_AUGMENTS:
        raise ValueError(f'{where}: no batch augmentation replaces {kind}; '
                         f'known: {sorted(BATCH_AUGMENTS)}')
    name, arguments = BATCH_AUGMENTS[kind]
    allowed = set(arguments) | ({'crop_size'} if kind == 'RandomCrop' else set())
    ours = _check_arguments(transform, allowed, where)
    if kind == 'RandomCrop' and tuple(transform.get('crop_size', img_hw)) != tuple(img_hw):
        raise ValueError(f'{where}: RandomCrop(crop_size={transform["crop_size"]}) must crop '
                         f'back to the resized size {tuple(img_hw)}')
    # the pipeline's defaults where the batch version's differ (mmcv's RandomFlip: prob=None)
    theirs = _defaults(MODELS, name)
    augment = dict(type=name)
    for key in arguments:
        value = transform.get(key, ours.get(key))
        if value is None:
            raise ValueError(f'{where}: {kind} needs {key} for its batch version')
        if key in transform or value != theirs.get(key):
            augment[key] = value
    return augment


def pack_settings(cfg: Config):
    """``((H, W), resize)`` of the config's image pack: how its train pipeline resizes, or
    what its pack loader expects (``resize``: ``interpolation`` and ``backend`` of mmcv)."""
    pipeline = cfg.train_dataloader.dataset.pipeline
    if pipeline and pipeline[0].get('type') == 'LoadReIDImageFromPack':
        loader = {**DEFAULT_RESIZE, **pipeline[0]}
        if loader.get('img_size') is None:
            raise ValueError('train_dataloader.dataset.pipeline: LoadReIDImageFromPack names no '
                             'img_size, so the size of its pack is unknown')
        return tuple(loader['img_size']), {key: loader[key] for key in DEFAULT_RESIZE}
    img_hw, resize, _ = _split_pipeline(pipeline, 'train_dataloader.dataset.pipeline')
    return img_hw, resize


def train_image_size(cfg: Config):
    """``(H, W)`` the config trains at: its pack size; for a pipeline ``--fast`` cannot read, img_h, img_w."""
    try:
        return pack_settings(cfg)[0]
    except ValueError:  # e.g. a hand-written packed config: its own size keys
        return cfg.get('img_h', 288), cfg.get('img_w', 144)


def use_image_pack(cfg: Config) -> None:
    """Read every loader's images from their pack in ``DATA_ROOT`` (``pack_file_name``), augment on the device.

    A pipeline this cannot convert raises before anything in ``cfg`` changes, and
    so does a loader resizing otherwise than the first (the train loader): one pack,
    written as the train pipeline resizes (``pack_images.py``), holds every image.
    """
    augments, pipelines, first = None, {}, None  # first: (loader key, img_hw, resize)
    for key in LOADERS:
        if key not in cfg or cfg[key] is None:
            continue
        where = f'{key}.dataset.pipeline'
        (height, width), resize, randoms = _split_pipeline(cfg[key].dataset.pipeline, where)
        first = first or (key, (height, width), resize)
        first_key, (first_h, first_w), first_resize = first
        if ((first_h, first_w), first_resize) != ((height, width), resize):
            raise ValueError(f'{where}: resizes to {height}x{width} with {resize}, '
                             f'{first_key} to {first_h}x{first_w} with {first_resize}: '
                             'one image pack holds both, so resize them alike')
        if key == 'train_dataloader':
            augments = [batch_augment(t, (height, width), where) for t in randoms]
        elif randoms:
            raise ValueError(f'{where}: random transforms at test time '
                             f'({[t["type"] for t in randoms]}) have no image-pack path')
        # the loader's defaults are mmcv's resize: written out only when it is another
        pipelines[key] = [
            dict(type='LoadReIDImageFromPack', pack_file=pack_file_name((height, width), **resize),
                 img_size=(height, width), **({} if resize == DEFAULT_RESIZE else resize)),
            dict(type='PackReIDInputs')]
    for key, pipeline in pipelines.items():
        cfg[key].dataset.pipeline = pipeline
        cfg[key].collate_fn = dict(type='default_collate')
    if augments is not None:
        if cfg.model.data_preprocessor.get('batch_augments'):
            raise ValueError('model.data_preprocessor.batch_augments is set already: the image '
                             "pack's batch augmentations would be applied besides them")
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
    # what the Runner wraps a model in when the config names no wrapper (or no type)
    wrapper = dict(cfg.get('model_wrapper_cfg') or dict(
        broadcast_buffers=False, find_unused_parameters=cfg.get('find_unused_parameters', False)))
    wrapper.setdefault('type', 'MMDistributedDataParallel')
    if wrapper['type'] not in CAPTURE_SAFE:
        raise ValueError(f"model_wrapper_cfg type {wrapper['type']!r} has no capture-safe "
                         f'version; known: {sorted(CAPTURE_SAFE)}')
    wrapper['type'] = CAPTURE_SAFE[wrapper['type']]
    cfg.model_wrapper_cfg = wrapper
    cfg.model.data_preprocessor.channels_last = True
    use_cuda_graphs(cfg.model)
    # the *_packed configs' count, with which the pack kept up (docs/benchmark.md)
    cfg.train_dataloader.num_workers = max(cfg.train_dataloader.get('num_workers', 0), 8)


def use_fast_path(cfg: Config) -> None:
    """:func:`use_image_pack` and :func:`use_gpu_speed_options`: what ``--fast`` does."""
    use_image_pack(cfg)
    use_gpu_speed_options(cfg)
