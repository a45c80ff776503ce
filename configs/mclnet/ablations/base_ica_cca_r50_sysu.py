# Table 3 "Base + ICA, CCA": "Base" (see base_r50_sysu.py) with identity- and
# camera-aware marginal center aggregation, no MCM.
_base_ = ['./agw_re_ica_cca_r50_sysu.py']

img_h, img_w = 288, 144
train_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    {{_base_.reference_resize}},
    dict(type='RandomCrop', crop_size=(img_h, img_w), padding=10),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
model = dict(
    backbone=dict(non_local=None),
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        loss_triplet=dict(
            _delete_=True, type='TripletLoss', margin=0.3, loss_weight=1.0)))
