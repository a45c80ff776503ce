# MCLNet (Hao et al., ICCV 2021) on the AGW ResNet-50 extractor, with the
# 200-epoch baseline schedule. Per iteration: the modality confusion module
# (MCM) is updated alone on detached pooled features (eq. 1, optimizer key
# 'adversary'), then everything else on
# L_id + L_wrt + L_e + lambda (L_ica + L_cca) with the MCM frozen (eq. 8, key
# 'main'). A dataset config adds a dataset base and default_runtime, sets
# model.head.num_classes and the camera ids (or cca=None).
_base_ = ['./agw_r50.py', '../schedules/reid_sgd_200e.py']

# Random erasing as the authors' code sets it (the paper cites Zhong et al.
# [56] without values; Table 1 credits erasing with +12 R1): probability 0.8,
# 10-80% of the image, aspect ratio 0.3-3.33, stronger than the dataset bases'
# 0.5 and 2-40%. A dataset config sets train_dataloader.dataset.pipeline to
# {{_base_.mclnet_train_pipeline}}; the packed configs set the data
# preprocessor's batch_augments to {{_base_.mclnet_batch_augments}}.
mclnet_erasing = dict(erase_prob=0.8, min_area_ratio=0.1, max_area_ratio=0.8,
                      aspect_range=(0.3, 1 / 0.3))
erase_fill = (103.53, 116.28, 123.675)  # the BGR mean: 0 after normalising
mclnet_train_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    # the dataset bases' reference_resize (PIL's Lanczos, as the reference code)
    dict(type='Resize', scale=(144, 288), keep_ratio=False, interpolation='lanczos',
         backend='pillow'),
    dict(type='RandomCrop', crop_size=(288, 144), padding=10),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomErasing', mode='const', fill_color=erase_fill, **mclnet_erasing),
    dict(type='PackReIDInputs'),
]
mclnet_batch_augments = [
    dict(type='BatchRandomCrop', padding=10),
    dict(type='BatchRandomFlip', prob=0.5),
    dict(type='BatchRandomErasing', fill_color=erase_fill, **mclnet_erasing),
]

lambda_center = 0.0005  # lambda of eq. 8
sigma = 8.0  # margin of eqs. 5-6
rho = 4500.0  # center separation margin: not in the paper; the authors' code
model = dict(
    type='MCLNet',
    # M: two-layer classifier on the pooled (pre-BN) feature -> 2 logits;
    # hidden width 128 as the authors' code (the paper gives none)
    modality_classifier=dict(
        type='ModalityClassifier',
        in_channels=2048,
        hidden_channels=128,
        act_cfg=dict(type='ReLU'),
        norm_logits=False),
    loss_modality=dict(type='ModalityClassificationLoss', loss_weight=1.0),
    loss_confusion=dict(type='ModalityConfusionLoss', loss_weight=1.0),
    # ICA on identities; num_classes / feat_dim come from the head
    ica=dict(
        type='MarginalCenterAggregationLoss',
        sigma=sigma,
        rho=rho,
        loss_weight=lambda_center,
        center_mode='parameter',
        hinge='sample',
        negatives='batch'),
    # CCA on cameras: camid camera_ids[k] -> camera center k
    cca=dict(
        type='MarginalCenterAggregationLoss',
        sigma=sigma,
        rho=rho,
        loss_weight=lambda_center,
        center_mode='parameter',
        hinge='sample',
        negatives='batch'),
    camera_ids=(1, 2, 3, 4, 5, 6),
    center_feature='after_bn',
    confusion_logits='updated')

# 'main': the schedule's SGD (backbone x0.1) plus the learnable centers
# without weight decay (decay would pull them to the origin);
# 'adversary': M alone, SGD with the same hyper-parameters as the authors' code.
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    main=dict(
        type='OptimWrapper',
        optimizer={{_base_.optim_wrapper.optimizer}},
        paramwise_cfg=dict(custom_keys={
            'backbone': dict(lr_mult=0.1),
            'centers': dict(decay_mult=0.0)
        })),
    adversary=dict(
        type='OptimWrapper',
        optimizer=dict(
            type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True,
            fused=True),
        modules=['modality_classifier']))
# M keeps the warm-up and the steps of the main schedule (the authors' code
# keeps M's lr at 0.1 throughout: set adversary=[] for that)
param_scheduler = dict(
    _delete_=True,
    main={{_base_.param_scheduler}},
    adversary={{_base_.param_scheduler}})

# The two steps call train_step of the model itself: DDP wraps each
# sub-module instead of the whole model (see STACK notes).
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)
