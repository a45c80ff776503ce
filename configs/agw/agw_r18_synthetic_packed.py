# agw_r18_synthetic.py (the README's CPU job) reading the 96x48 image pack,
# with its random transforms in the data preprocessor: on two CPU cores the
# dataloader workers no longer decode and augment beside the training step.
# Pack: python tools/dataset_converters/pack_images.py THIS_CONFIG
_base_ = ['./agw_r18_synthetic.py']

packed_pipeline = [
    dict(type='LoadReIDImageFromPack', pack_file='packed_96x48.npy',
         img_size=(96, 48)),
    dict(type='PackReIDInputs'),
]
# agw_r18_synthetic.py's train pipeline after its Resize, in order
model = dict(data_preprocessor=dict(batch_augments=[
    dict(type='BatchRandomCrop', padding=4),
    dict(type='BatchRandomFlip', prob=0.5),
    dict(type='BatchRandomGrayscale', prob=0.5,
         channel_weights=(0.114, 0.587, 0.299)),
    dict(type='BatchRandomErasing', erase_prob=0.5,
         fill_color={{_base_.bgr_mean}}),
]))
train_dataloader = dict(
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=packed_pipeline))
val_dataloader = dict(
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=packed_pipeline))
test_dataloader = val_dataloader
