# agw_r50_sysu.py reading the image pack, with its random transforms on the
# GPU: the same training, without JPEG decoding in the loop, and the speed
# options that change no arithmetic.
_base_ = [
    '../_base_/models/agw_r50.py', '../_base_/datasets/sysu_mm01_packed.py',
    '../_base_/schedules/reid_sgd_80e.py', '../_base_/default_runtime.py'
]

model = dict(
    head=dict(num_classes=395),
    # the fast path on a GPU: channels-last bf16 convolutions (with --amp)
    # and the backbone's passes replayed as CUDA graphs
    data_preprocessor=dict(
        batch_augments={{_base_.batch_augments}}, channels_last=True),
    backbone=dict(cuda_graph=True))

# the same DDP, built so that the graphs can be captured under it
model_wrapper_cfg = dict(
    type='CaptureSafeDistributedDataParallel', broadcast_buffers=False,
    find_unused_parameters=False)
