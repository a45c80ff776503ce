# The procedural synthetic dataset (vireid.datasets.synthetic) in the real
# on-disk layout, for runs without the real data. Light loader settings: it
# is small and often runs on a CPU machine.
_base_ = ['./llcm.py']

data_root = 'data/synthetic/LLCM/'

train_dataloader = dict(
    num_workers=2, pin_memory=False, dataset=dict(data_root=data_root))
val_dataloader = dict(
    num_workers=2, pin_memory=False, dataset=dict(data_root=data_root))
test_dataloader = val_dataloader
