# Table 2, 'Base+SFD+FMC+SFF' (66.34 / 62.51): the full model.
_base_ = ['../fmcnet_r50_sysu.py']
