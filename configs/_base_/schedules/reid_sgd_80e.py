# The published cross-modality baseline schedule (AGW, FMCNet): SGD with
# Nesterov momentum, lr 0.1 (backbone x0.1), linear warm-up whose factor is
# (epoch + 1) / 10 over epochs 0..9, then x0.1 at epoch 20 and x0.01 at 50.
optim_wrapper = dict(
    type='OptimWrapper',
    # one parameter group per distinct option set, not per parameter
    constructor='GroupedOptimWrapperConstructor',
    # fused: one kernel per parameter group and step instead of a dozen
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True,
                   fused=True),
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}),
)

param_scheduler = [
    # MMEngine's LinearLR reaches end_factor at epoch end - 1: with end=10
    # the factor is 0.1 + 0.9 * e / 9 == (e + 1) / 10 for e in 0..9
    dict(type='LinearLR', start_factor=0.1, by_epoch=True, begin=0, end=10),
    dict(type='MultiStepLR', by_epoch=True, milestones=[20, 50], gamma=0.1),
]

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=80, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')

# --auto-scale-lr scales lr by (GPUs x batch) / base_batch_size
auto_scale_lr = dict(base_batch_size=64)
