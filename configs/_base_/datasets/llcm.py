# LLCM: train from idx/train_{vis,nir}.txt; test split = every test_vis and
# test_nir image of idx/test_id.txt; the metric reports both directions with
# galleries drawn per trial.
_base_ = ['./vireid_288x144.py']

dataset_type = 'LLCMDataset'
data_root = 'data/llcm/'

train_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
val_dataloader = dict(dataset=dict(type=dataset_type, data_root=data_root))
test_dataloader = val_dataloader
