# The CPU job: a narrow FMCNet (ResNet-18, width 32, no ImageNet weights)
# trained from scratch on the synthetic SYSU-MM01-layout tree
# (python tools/dataset_converters/make_synthetic.py data/synthetic, the
# README's tree) at 128x64, 3 epochs of 165 steps (about 0.3 s each on two
# CPU cores): a run of the whole training loop, not a model. From scratch its
# shared features collapse to 0 and identities stay at chance
# (configs/fmcnet/README.md, Stability).
_base_ = [
    '../_base_/models/fmcnet_r50.py', '../_base_/datasets/synthetic_sysu_128x64.py',
    '../_base_/default_runtime.py'
]

# make_synthetic's default 400 identities: SYSU split 280 train + 40 val
# ids, trained on together.
num_classes = 320
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
max_epochs = 3
param_scheduler = dict(
    main=[
        dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
             convert_to_iter_based=True),
        dict(type='MultiStepLR', by_epoch=True, milestones=[2], gamma=0.1),
    ],
    adversary=[
        dict(type='MultiStepLR', by_epoch=True, milestones=[2], gamma=0.1)
    ])
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
