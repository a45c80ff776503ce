# Tables 1-3 "AGW*": AGW with random erasing, no MCM, no ICA / CCA, trained
# with MCLNet's recipe (the MCLNet model with every addition off computes
# AGW's L_id + L_wrt).
_base_ = ['./agw_re_ica_cca_r50_sysu.py']

model = dict(ica=None, cca=None, camera_ids=None)
