# SYSU-MM01 read from its image pack (python tools/dataset_converters/pack_images.py
# CONFIG writes DATA_ROOT/packed_288x144_pillow_lanczos.npy once): workers copy resized bytes and
# decode nothing; crop, flip and erasing run on the GPU, in the model's data
# preprocessor, with the distributions of sysu_mm01.py's pipeline transforms.
# An experiment config sets model.data_preprocessor.batch_augments to
# {{_base_.batch_augments}}.
_base_ = ['./sysu_mm01.py']

packed_pipeline = [
    dict(type='LoadReIDImageFromPack', pack_file='packed_288x144_pillow_lanczos.npy',
         img_size=(288, 144), interpolation='lanczos', backend='pillow'),
    dict(type='PackReIDInputs'),
]
batch_augments = [
    dict(type='BatchRandomCrop', padding=10),
    dict(type='BatchRandomFlip', prob=0.5),
    dict(type='BatchRandomErasing', erase_prob=0.5,
         fill_color={{_base_.bgr_mean}}),
]

train_dataloader = dict(
    num_workers=8,
    # stacked in the workers: the main process receives one uint8 tensor
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=packed_pipeline))
val_dataloader = dict(
    collate_fn=dict(type='default_collate'),
    dataset=dict(pipeline=packed_pipeline))
test_dataloader = val_dataloader
