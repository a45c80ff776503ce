# The README's CPU job: a narrow AGW (ResNet-18, width 32, no ImageNet
# weights) trained from scratch on the synthetic SYSU-MM01-layout tree
# (python -m vireid.datasets.synthetic ... -> data/synthetic/SYSU-MM01/) at
# 128x64, a few epochs on two CPU cores.
_base_ = [
    '../_base_/models/agw_r50.py', '../_base_/datasets/synthetic_sysu_128x64.py',
    '../_base_/schedules/reid_sgd_80e.py', '../_base_/default_runtime.py'
]

# make_synthetic's default 150 identities: SYSU split 105 train + 15 val
# ids, trained on together.
num_classes = 120

model = dict(
    backbone=dict(
        depth=18,
        base_channels=32,
        # ResNet-18 stages have two blocks: one non-local block after the
        # second block of layer2 and of layer3.
        non_local=dict(layer2=(1, ), layer3=(1, )),
        init_cfg=None),
    head=dict(in_channels=256, num_classes=num_classes))


# From scratch the backbone learns at the full rate (no x0.1).
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=1.0)}))
max_epochs = 20
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=2),
    dict(type='MultiStepLR', by_epoch=True, milestones=[14], gamma=0.1),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=10),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
