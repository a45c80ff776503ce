# Table 4, 'FMC+L_IC+L_FC' (57.78 / 55.56): no adversarial term for the
# generators (the discriminators still train, so their accuracy is logged).
_base_ = ['../fmcnet_r50_sysu.py']

model = dict(loss_weights=dict(gan=0.0))
