# mclnet_r50_sysu.py reading the image pack, with its random transforms on the
# GPU: the same training, without JPEG decoding in the loop, and the speed
# options that change no arithmetic.
_base_ = [
    '../_base_/models/mclnet_r50.py', '../_base_/datasets/sysu_mm01_packed.py',
    '../_base_/default_runtime.py'
]

model = dict(
    head=dict(num_classes=395), camera_ids=(1, 2, 3, 4, 5, 6),
    # the fast path on a GPU: channels-last bf16 convolutions (with --amp)
    # and the passes of the backbone and of both steps' loss terms replayed
    # as CUDA graphs
    data_preprocessor=dict(
        batch_augments={{_base_.mclnet_batch_augments}}, channels_last=True),
    backbone=dict(cuda_graph=True),
    graph_losses=True)

# the same DDP, built so that the graphs can be captured under it
model_wrapper_cfg = dict(type='CaptureSafeSeparateDistributedDataParallel')
