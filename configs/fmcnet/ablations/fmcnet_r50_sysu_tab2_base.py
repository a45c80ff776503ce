# Table 2, 'Base' (57.09 / 53.11): E_V, E_I and E_sh only, trained with the
# ID loss; test feature F_sh.
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(
    backbone=dict(specific_tail=False),
    with_sfd=False,
    with_fmc=False,
    sff=None,
    test_feature='shared')

# no FMC: no discriminators, so no adversary optimizer
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    main={{_base_.optim_wrapper.main}})
param_scheduler = dict(_delete_=True, main={{_base_.param_scheduler.main}})
