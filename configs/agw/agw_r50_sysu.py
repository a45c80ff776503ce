# AGW on SYSU-MM01 with random erasing (the MCLNet paper's "AGW*").
_base_ = [
    '../_base_/models/agw_r50.py', '../_base_/datasets/sysu_mm01.py',
    '../_base_/schedules/reid_sgd_80e.py', '../_base_/default_runtime.py'
]

model = dict(head=dict(num_classes=395))
