# A narrow AGW (ResNet-18, width 16, no ImageNet weights) trained from
# scratch on the synthetic SYSU-MM01-layout tree at 96x48: about 2,000 steps,
# 7 minutes on two CPU cores. The README's job (tools/quickstart.sh) runs
# agw_r18_synthetic_packed.py, this training fed from an image pack.
# Data: python tools/dataset_converters/make_synthetic.py data/synthetic
#       (400 ids, seed 0: the defaults)
_base_ = [
    '../_base_/models/agw_r50.py', '../_base_/datasets/synthetic_sysu.py',
    '../_base_/schedules/reid_sgd_80e.py', '../_base_/default_runtime.py'
]

# 400 identities: SYSU split 280 train + 40 val ids, trained on together
# (80 test ids). Another --num-ids needs another num_classes.
num_classes = 320
img_h, img_w = 96, 48

model = dict(
    backbone=dict(
        depth=18,
        # narrow and small: more steps in the same minutes, which matters
        # more here than width
        base_channels=16,
        # ResNet-18 stages have two blocks: one non-local block after the
        # second block of layer2 and of layer3.
        non_local=dict(layer2=(1, ), layer3=(1, )),
        init_cfg=None),
    head=dict(in_channels=128, num_classes=num_classes))

bgr_mean = (103.53, 116.28, 123.675)
train_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(img_w, img_h), keep_ratio=False),
    dict(type='RandomCrop', crop_size=(img_h, img_w), padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    # Colour identifies a person only within the visible modality; grey
    # visible images push the shared layers towards shape, print and fabric,
    # the cues infrared images also carry (infrared images are grey already).
    dict(type='RandomGrayscale', prob=0.5, keep_channels=True,
         channel_weights=(0.114, 0.587, 0.299)),  # BGR luma weights
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

# From scratch and in few steps AdamW learns where the published SGD
# schedule (lr 0.1, backbone x0.1) barely leaves chance level (measured:
# R1 3% after 6 epochs).
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=1e-3, weight_decay=5e-4))
max_epochs = 24
param_scheduler = [
    # per-iteration ramps: one epoch is only 83 steps
    dict(type='LinearLR', start_factor=0.01, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='CosineAnnealingLR', by_epoch=True, begin=1, end=max_epochs,
         T_max=max_epochs - 1, eta_min=1e-5, convert_to_iter_based=True),
]
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
default_hooks = dict(
    logger=dict(interval=20),
    checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
