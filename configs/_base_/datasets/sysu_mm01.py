# SYSU-MM01: train on train+val ids (all six cameras); test split = IR queries
# (cams 3, 6) + the RGB gallery pool (cams 1, 2, 4, 5), galleries drawn by
# VIReIDMetric.
_base_ = ['./vireid_288x144.py']

dataset_type = 'SYSUMM01Dataset'
data_root = 'data/sysu_mm01/'

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
