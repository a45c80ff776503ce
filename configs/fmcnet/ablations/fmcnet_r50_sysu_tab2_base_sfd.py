# Table 2, 'Base+SFD' (63.16 / 58.83): SFD trained with L_MD + L_ID; test
# feature F_sh (the decomposed modality-shared feature).
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(with_fmc=False, sff=None, test_feature='shared')

# no FMC: no discriminators, so no adversary optimizer
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    main={{_base_.optim_wrapper.main}})
param_scheduler = dict(_delete_=True, main={{_base_.param_scheduler.main}})
