# Table 4, 'FMC+L_GAN+L_IC' (65.61 / 62.17).
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(loss_weights=dict(fc=0.0))
