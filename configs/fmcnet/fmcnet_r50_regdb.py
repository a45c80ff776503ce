# FMCNet on RegDB, one trial (set ``trial`` for trials 2..10; each is a
# separate model): 206 training ids, otherwise the SYSU-MM01 recipe.
_base_ = [
    '../_base_/models/fmcnet_r50.py', '../_base_/datasets/regdb.py',
    '../_base_/default_runtime.py'
]

model = dict(num_classes=206)

train_dataloader = dict(
    batch_size=64, sampler=dict(num_ids=4, num_instances=8),
    dataset=dict(pipeline={{_base_.fmcnet_train_pipeline}}))
