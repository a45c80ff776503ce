# What every VI-ReID dataset config shares: the papers' 288x144 pipelines, the
# cross-modality identity sampler and the loaders. A dataset config inherits
# this and fills in ``dataset=dict(type=..., data_root=...)``. Variables of a
# base are evaluated in the base: to change the image size, a model config
# redefines the pipelines and sets them in the dataloaders' ``dataset.pipeline``.
img_h, img_w = 288, 144
num_ids, num_instances = 8, 4  # P identities x K images per modality
# Normalisation runs in the model's data preprocessor, so the erased area is
# filled with the dataset mean in the BGR order of the decoded image (0 after
# normalisation).
bgr_mean = (103.53, 116.28, 123.675)
# Resized as the reference code resizes (PIL's Lanczos, its ANTIALIAS, in the
# AGW / MCLNet / DEEN data loaders and pre-processing), at train and test time:
# cv2's bilinear, mmcv's default, aliases where it shrinks an image.
reference_resize = dict(type='Resize', scale=(img_w, img_h), keep_ratio=False,
                        interpolation='lanczos', backend='pillow')

train_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    reference_resize,
    dict(type='RandomCrop', crop_size=(img_h, img_w), padding=10),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomErasing', erase_prob=0.5, mode='const',
         fill_color=bgr_mean),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    reference_resize,
    dict(type='PackReIDInputs'),
]

train_dataloader = dict(
    batch_size=num_ids * 2 * num_instances,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    sampler=dict(
        type='CrossModalityIdentitySampler',
        num_ids=num_ids,
        num_instances=num_instances),
    dataset=dict(split='train', pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    pin_memory=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(split='test', pipeline=test_pipeline))
test_dataloader = val_dataloader

# the protocol ('sysu' | 'regdb' | 'llcm') comes from the dataset's metainfo
val_evaluator = dict(type='VIReIDMetric')
test_evaluator = val_evaluator
