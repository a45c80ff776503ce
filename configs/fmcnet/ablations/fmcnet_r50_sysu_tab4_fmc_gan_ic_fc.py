# Table 4, 'FMC+L_GAN+L_IC+L_FC' (66.34 / 62.51): the full model.
_base_ = ['../fmcnet_r50_sysu.py']
