# MCLNet's schedule: the baseline schedule run for 200 epochs.
_base_ = ['./reid_sgd_80e.py']

train_cfg = dict(max_epochs=200)
