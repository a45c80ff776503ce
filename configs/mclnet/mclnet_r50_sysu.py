# MCLNet on SYSU-MM01 (the paper's setting): 8 ids x 4 images per modality
# (64 images), 288x144, pad-10 random crop, flips, the authors' random
# erasing (p 0.8, 10-80% of the image), 200 epochs, lr 0.1 with warm-up,
# x0.1 at epochs 20 and 50; ICA on the 395 training identities, CCA on the
# 6 cameras.
_base_ = [
    '../_base_/models/mclnet_r50.py', '../_base_/datasets/sysu_mm01.py',
    '../_base_/default_runtime.py'
]

model = dict(head=dict(num_classes=395), camera_ids=(1, 2, 3, 4, 5, 6))
train_dataloader = dict(dataset=dict(pipeline={{_base_.mclnet_train_pipeline}}))
