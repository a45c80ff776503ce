# Table 3, 'FMCNet+L_ID+L_shs+L_sps' (64.68 / 59.34).
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(md_loss=dict(lambda_dc=0.0))
