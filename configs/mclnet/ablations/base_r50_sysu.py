# Tables 1 and 3 "Base": the two-stream ResNet-50 (specific stem, shared
# layer1-4, last stride 1) without non-local blocks, average pooling instead
# of GeM, batch-hard triplet (margin 0.3) instead of WRT, no random erasing
# (as configs/agw/base_r50_sysu.py), with MCLNet's recipe.
_base_ = ['./agw_r50_sysu.py']

model = dict(
    backbone=dict(non_local=None),
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        loss_triplet=dict(
            _delete_=True, type='TripletLoss', margin=0.3, loss_weight=1.0)))
