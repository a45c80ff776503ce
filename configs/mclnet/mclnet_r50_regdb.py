# MCLNet on RegDB, one trial (set trial=1..10 through
# --cfg-options train_dataloader.dataset.trial=N test_dataloader.dataset.trial=N;
# each trial is a separate model): 206 training ids; no CCA, as the paper
# (RegDB's two cameras coincide with its two modalities).
_base_ = [
    '../_base_/models/mclnet_r50.py', '../_base_/datasets/regdb.py',
    '../_base_/default_runtime.py'
]

model = dict(head=dict(num_classes=206), cca=None, camera_ids=None)
train_dataloader = dict(dataset=dict(pipeline={{_base_.mclnet_train_pipeline}}))
