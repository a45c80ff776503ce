# Table 1 "AGW + MCM": AGW* + MCM without random erasing.
_base_ = ['./agw_re_mcm_r50_sysu.py']

img_h, img_w = 288, 144
train_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    {{_base_.reference_resize}},
    dict(type='RandomCrop', crop_size=(img_h, img_w), padding=10),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
