# MCLNet on LLCM (beyond the paper): 713 training ids; CCA on the 9 camera
# ids. LLCM's cameras record both modalities, so camN of the visible and of
# the near-infrared images share one camera center.
_base_ = [
    '../_base_/models/mclnet_r50.py', '../_base_/datasets/llcm.py',
    '../_base_/default_runtime.py'
]

model = dict(head=dict(num_classes=713), camera_ids=(1, 2, 3, 4, 5, 6, 7, 8, 9))
train_dataloader = dict(dataset=dict(pipeline={{_base_.mclnet_train_pipeline}}))
