# A small MCLNet for CPU runs on the procedural synthetic SYSU-MM01 tree
# (python -c "from vireid.datasets.synthetic import make_synthetic;
# make_synthetic('data/synthetic')": 150 ids -> 120 training ids): ResNet-18
# from scratch (no download), 128x64 images, 4 ids x 4 images per modality,
# 30 epochs. rho scales with the embedding width (4500 for 2048-d -> 1125
# for 512-d: squared distances of unit-variance embeddings grow with it).
_base_ = [
    '../_base_/models/mclnet_r50.py', '../_base_/datasets/synthetic_sysu_128x64.py',
    '../_base_/default_runtime.py'
]

feat_dim = 512
rho = 1125.0
model = dict(
    backbone=dict(
        depth=18, non_local=dict(layer2=(1, ), layer3=(1, )), init_cfg=None),
    head=dict(in_channels=feat_dim, num_classes=120),
    modality_classifier=dict(in_channels=feat_dim),
    ica=dict(rho=rho),
    cca=dict(rho=rho))

num_ids, num_instances = 4, 4
train_dataloader = dict(
    batch_size=num_ids * 2 * num_instances,
    sampler=dict(num_ids=num_ids, num_instances=num_instances))
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

train_cfg = dict(max_epochs=30, val_interval=10)
lr_schedule = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=3),
    dict(type='MultiStepLR', by_epoch=True, milestones=[15, 25], gamma=0.1),
]
param_scheduler = dict(main=lr_schedule, adversary=lr_schedule)
default_hooks = dict(logger=dict(interval=10))
