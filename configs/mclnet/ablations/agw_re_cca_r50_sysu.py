# Table 2 "AGW* + CCA": camera-aware center aggregation only.
_base_ = ['./agw_re_ica_cca_r50_sysu.py']

model = dict(ica=None)
