# A small MCLNet for CPU runs on the procedural synthetic SYSU-MM01 tree
# (python tools/dataset_converters/make_synthetic.py data/synthetic: 400 ids,
# the README's tree -> 280 train + 40 val ids, trained on together): ResNet-18
# from scratch (no download), 128x64 images (the synthetic base's pipelines,
# its p 0.5 erasing, not the authors'), 4 ids x 4 images per modality,
# 12 epochs of 165 steps (about 0.4 s each on two cores). rho scales with the
# embedding width (4500 for 2048-d -> 1125 for 512-d: squared distances of
# unit-variance embeddings grow with it).
_base_ = [
    '../_base_/models/mclnet_r50.py', '../_base_/datasets/synthetic_sysu_128x64.py',
    '../_base_/default_runtime.py'
]

num_classes = 320
feat_dim = 512
rho = 1125.0
model = dict(
    backbone=dict(
        depth=18, non_local=dict(layer2=(1, ), layer3=(1, )), init_cfg=None),
    head=dict(in_channels=feat_dim, num_classes=num_classes),
    modality_classifier=dict(in_channels=feat_dim),
    ica=dict(rho=rho),
    cca=dict(rho=rho))

num_ids, num_instances = 4, 4
train_dataloader = dict(
    batch_size=num_ids * 2 * num_instances,
    sampler=dict(num_ids=num_ids, num_instances=num_instances))
val_dataloader = dict(batch_size=64)
test_dataloader = val_dataloader

max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=4)
lr_schedule = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=1,
         convert_to_iter_based=True),
    dict(type='MultiStepLR', by_epoch=True, milestones=[6, 10], gamma=0.1),
]
param_scheduler = dict(main=lr_schedule, adversary=lr_schedule)
default_hooks = dict(logger=dict(interval=10))
