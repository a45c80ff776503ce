# The CPU job: a narrow FMCNet (ResNet-18, width 32, no ImageNet weights)
# trained from scratch on the synthetic SYSU-MM01-layout tree
# (python -m vireid.datasets.synthetic ... -> data/synthetic/SYSU-MM01/) at
# 128x64, a few epochs on two CPU cores.
_base_ = [
    '../_base_/models/fmcnet_r50.py', '../_base_/datasets/synthetic_sysu_128x64.py',
    '../_base_/default_runtime.py'
]

# make_synthetic's default 150 identities: SYSU split 105 train + 15 val
# ids, trained on together.
num_classes = 120
feat_dim = 256  # ResNet-18 (BasicBlock) with base_channels 32: 32 x 8

model = dict(
    backbone=dict(depth=18, base_channels=32, init_cfg=None),
    num_classes=num_classes,
    feat_dim=feat_dim,
    generator=dict(hidden_channels=feat_dim))

# 4 ids x 4 images per modality: half the paper's batch, for two CPU cores
train_dataloader = dict(
    batch_size=32,
    sampler=dict(num_ids=4, num_instances=4))

# From scratch the backbone learns at the full rate (no x0.1).
optim_wrapper = dict(
    main=dict(paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0)})))
max_epochs = 6
param_scheduler = dict(
    main=[
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
        dict(type='MultiStepLR', by_epoch=True, milestones=[4], gamma=0.1),
    ],
    adversary=[
        dict(type='MultiStepLR', by_epoch=True, milestones=[4], gamma=0.1)
    ])
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
