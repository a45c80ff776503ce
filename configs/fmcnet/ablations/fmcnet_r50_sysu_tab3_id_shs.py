# Table 3, 'FMCNet+L_ID+L_shs' (63.96 / 58.64).
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(md_loss=dict(lambda_sps=0.0, lambda_dc=0.0))
