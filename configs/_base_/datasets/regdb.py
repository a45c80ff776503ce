# RegDB, one trial (1..10; each trial is a separate split and model): train
# and test from idx/{train,test}_{visible,thermal}_{trial}.txt; the metric
# reports visible-to-thermal and thermal-to-visible.
_base_ = ['./vireid_288x144.py']

dataset_type = 'RegDBDataset'
data_root = 'data/regdb/'
trial = 1

train_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, trial=trial))
val_dataloader = dict(
    dataset=dict(type=dataset_type, data_root=data_root, trial=trial))
test_dataloader = val_dataloader
