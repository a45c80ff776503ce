# Table 4, 'FMC+L_GAN' (62.56 / 58.40).
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(loss_weights=dict(ic=0.0, fc=0.0))
