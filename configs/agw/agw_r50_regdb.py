# AGW on RegDB (one trial; set trial=1..10 through the dataset config or
# --cfg-options train_dataloader.dataset.trial=N test_dataloader.dataset.trial=N).
_base_ = [
    '../_base_/models/agw_r50.py', '../_base_/datasets/regdb.py',
    '../_base_/schedules/reid_sgd_80e.py', '../_base_/default_runtime.py'
]

model = dict(head=dict(num_classes=206))
