# Table 2 "AGW* + ICA, CCA" (and Table 3): MCLNet without the modality
# confusion module, hence one ordinary optimizer and one step per iteration.
_base_ = ['../mclnet_r50_sysu.py']

model = dict(modality_classifier=None)
optim_wrapper = dict(
    _delete_=True,
    type='OptimWrapper',
    optimizer={{_base_.optim_wrapper.main.optimizer}},
    paramwise_cfg={{_base_.optim_wrapper.main.paramwise_cfg}})
param_scheduler = {{_base_.param_scheduler.main}}
