# Table 1 "Base + MCM": "Base" (see base_r50_sysu.py) with the modality
# confusion module.
_base_ = ['./agw_mcm_r50_sysu.py']

model = dict(
    backbone=dict(non_local=None),
    neck=dict(_delete_=True, type='GlobalAveragePooling'),
    head=dict(
        loss_triplet=dict(
            _delete_=True, type='TripletLoss', margin=0.3, loss_weight=1.0)))
