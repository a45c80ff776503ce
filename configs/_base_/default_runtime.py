default_scope = 'vireid'

default_hooks = dict(
    # reads the logged losses back at the logger's iterations only: MMEngine's
    # RuntimeInfoHook reads them every iteration, and the GPU idles while the
    # host waits for them
    runtime_info=dict(type='DeferredRuntimeInfoHook'),
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=50),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # no save_best by default: the only labelled split is the test set, and
    # selecting checkpoints on it would inflate the reported numbers
    checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3),
    sampler_seed=dict(type='DistSamplerSeedHook'),
)

custom_hooks = [
    # a NaN/inf loss skips its step; 10 in a row means divergence: stop
    dict(type='NonFiniteLossHook', action='skip', max_skips=10),
    # discriminator / modality classifier accuracy pinned at 0 or 100 %
    dict(type='CollapseWatchHook', patience=500),
    # per-epoch random streams: a resumed run repeats an uninterrupted one
    dict(type='EpochSeedHook'),
    # the classifier's identities are the training set's
    dict(type='IdentityCountHook'),
]

env_cfg = dict(
    cudnn_benchmark=True,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
)

vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='Visualizer', vis_backends=vis_backends)
log_processor = dict(by_epoch=True, window_size=50)
log_level = 'INFO'

load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
