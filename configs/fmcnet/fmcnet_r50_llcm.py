# FMCNet on LLCM (beyond the paper): 713 training ids, the SYSU-MM01 recipe.
_base_ = [
    '../_base_/models/fmcnet_r50.py', '../_base_/datasets/llcm.py',
    '../_base_/default_runtime.py'
]

model = dict(num_classes=713)

train_dataloader = dict(
    batch_size=64, sampler=dict(num_ids=4, num_instances=8),
    dataset=dict(pipeline={{_base_.fmcnet_train_pipeline}}))
