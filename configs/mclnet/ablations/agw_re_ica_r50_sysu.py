# Table 2 "AGW* + ICA": identity-aware center aggregation only.
_base_ = ['./agw_re_ica_cca_r50_sysu.py']

model = dict(cca=None, camera_ids=None)
