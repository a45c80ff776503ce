# AGW on LLCM (713 training identities).
_base_ = [
    '../_base_/models/agw_r50.py', '../_base_/datasets/llcm.py',
    '../_base_/schedules/reid_sgd_80e.py', '../_base_/default_runtime.py'
]

model = dict(head=dict(num_classes=713))
