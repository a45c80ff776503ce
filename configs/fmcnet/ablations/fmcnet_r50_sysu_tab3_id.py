# Table 3, 'FMCNet+L_ID' (58.68 / 54.33): no MD loss term.
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(md_loss=dict(loss_weight_shs=0.0, lambda_sps=0.0, lambda_dc=0.0))
