# FMCNet on SYSU-MM01 (the paper's setting): 4 ids x 8 images per modality
# (64 images), 288x144, flips + random erasing (no crop), 80 epochs, lr 0.1 with
# warm-up, x0.1 at epochs 20 and 50.
_base_ = [
    '../_base_/models/fmcnet_r50.py', '../_base_/datasets/sysu_mm01.py',
    '../_base_/default_runtime.py'
]

model = dict(num_classes=395)

train_dataloader = dict(
    batch_size=64, sampler=dict(num_ids=4, num_instances=8),
    dataset=dict(pipeline={{_base_.fmcnet_train_pipeline}}))
