# Table 2, 'Base+SFD+FMC' (65.50 / 62.32): FMC without SFF; the shared, the
# specific and the generated features are simply concatenated at test time
# (no fusion weights, no P_fp, no L_MC / L_FID).
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(sff=None, test_feature='concat')
