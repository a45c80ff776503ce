# Table 3, 'FMCNet+L_ID+L_shs+L_sps+L_dc' (66.34 / 62.51): the full model.
_base_ = ['../fmcnet_r50_sysu.py']
