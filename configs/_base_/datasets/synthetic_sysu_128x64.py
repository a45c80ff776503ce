# The synthetic SYSU-MM01 tree at 128x64 (the small CPU configs): the
# pipelines are redefined here because a base's variables are evaluated in
# the base, so changing img_h / img_w alone would not resize anything.
_base_ = ['./synthetic_sysu.py']

img_h, img_w = 128, 64
bgr_mean = (103.53, 116.28, 123.675)
train_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(img_w, img_h), keep_ratio=False),
    dict(type='RandomCrop', crop_size=(img_h, img_w), padding=5),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomErasing', erase_prob=0.5, mode='const',
         fill_color=bgr_mean),
    dict(type='PackReIDInputs'),
]
test_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(img_w, img_h), keep_ratio=False),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
