# Table 1 "AGW* + MCM": modality confusion without ICA / CCA.
_base_ = ['../mclnet_r50_sysu.py']

model = dict(ica=None, cca=None, camera_ids=None)
