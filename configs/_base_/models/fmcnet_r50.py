# FMCNet (CVPR 2022) on ResNet-50, with its two-optimizer version of the
# 80-epoch schedule: the discriminators are trained by their own optimizer
# ('adversary'), everything else by the schedule's SGD ('main'). A dataset
# config adds a dataset base and default_runtime, and sets num_classes.
_base_ = ['../schedules/reid_sgd_80e.py']

# FMCNet's augmentation (Sec. 4.1): images resized to 288x144, random flips
# and random erasing, no crop. A dataset config sets
# train_dataloader.dataset.pipeline to {{_base_.fmcnet_train_pipeline}}; the
# packed configs set the data preprocessor's batch_augments to
# {{_base_.fmcnet_batch_augments}} (the same two on the GPU).
erase_fill = (103.53, 116.28, 123.675)  # the BGR mean: 0 after normalising
fmcnet_train_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    # the dataset bases' reference_resize (PIL's Lanczos, as the reference code)
    dict(type='Resize', scale=(144, 288), keep_ratio=False, interpolation='lanczos',
         backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='RandomErasing', erase_prob=0.5, mode='const',
         fill_color=erase_fill),
    dict(type='PackReIDInputs'),
]
fmcnet_batch_augments = [
    dict(type='BatchRandomFlip', prob=0.5),
    dict(type='BatchRandomErasing', erase_prob=0.5, fill_color=erase_fill),
]

feat_dim = 2048
model = dict(
    type='FMCNet',
    data_preprocessor=dict(type='ReIDDataPreprocessor'),
    # E_V / E_I: stem..layer2 per modality; E_sh and E_sp^V / E_sp^I:
    # layer3 + layer4, independent weights, all from ImageNet
    backbone=dict(
        type='TwoStreamResNet',
        depth=50,
        split='layer2',
        specific_tail=True,
        last_stride=1,
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(type='GlobalAveragePooling'),
    num_classes=395,
    feat_dim=feat_dim,
    with_sfd=True,
    with_fmc=True,
    classifier=dict(type='IdentityClassifier', with_bn=False),
    generator=dict(
        type='FeatureGenerator',
        hidden_channels=feat_dim,
        act_cfg=dict(type='ReLU'),
        out_act_cfg=dict(type='ReLU')),
    discriminator=dict(type='FeatureDiscriminator'),
    sff=dict(
        type='SharedSpecificFusion', per_modality=True, init_weights=(0.5, 0.5)),
    md_loss=dict(
        type='ModalityDecompositionLoss',
        margin_dc=1.0,  # rho1
        margin_sps=0.7,  # rho2
        margin_shs=0.7,  # rho3
        alpha=2.0,
        loss_weight_shs=1.0,
        lambda_dc=0.5,  # lambda1
        lambda_sps=0.5),  # lambda2
    mc_loss=dict(
        type='CrossModalityCenterLoss', margin=0.7, beta=2.0, loss_weight=1.0),
    loss_weights=dict(
        id_sh=1.0, id_sp=1.0, gan=1.0, fc=1.0, ic=1.0, fid=1.0, adversary=1.0),
    ic_detach_classifier=False,
    # L_FC as the mean absolute difference; 'sum' (the l1 norm as written)
    # makes it 2048x the other terms and the step diverges
    fc_reduction='mean',
    test_feature='fused',
    flip_test=False)

# Under DDP every child module is wrapped on its own, so that FMCNet's
# train_step runs its two updates (MMDistributedDataParallel would not call it).
model_wrapper_cfg = dict(
    type='MMSeparateDistributedDataParallel',
    broadcast_buffers=False,
    find_unused_parameters=False)

# 'main' is the schedule's optimizer (SGD, lr 0.1, backbone x0.1) with the
# fusion weights (eq. 15) at x0.01 and without weight decay: each of these
# scalars multiplies a whole 2048-d feature, so its gradient sums over every
# channel and sample, and at the full rate the weights (and then the step)
# diverge within a few iterations (configs/fmcnet/README.md). The
# discriminators use the usual GAN setting (Adam 2e-4, beta1 0.5): the
# paper's one SGD at lr 0.1 was unstable on them (the same README).
optim_wrapper = dict(
    _delete_=True,
    constructor='MultiOptimWrapperConstructor',
    main=dict(
        type={{_base_.optim_wrapper.type}},
        constructor={{_base_.optim_wrapper.constructor}},
        optimizer={{_base_.optim_wrapper.optimizer}},
        paramwise_cfg=dict(custom_keys={
            'backbone': {{_base_.optim_wrapper.paramwise_cfg.custom_keys.backbone}},
            'fusion_weights': dict(lr_mult=0.01, decay_mult=0.0)})),
    adversary=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999), fused=True),
        modules=['discriminator_v2i', 'discriminator_i2v']))
# the generators decay with 'main'; the discriminators decay at the same
# epochs (no warm-up: they start from scratch and are cheap to fit)
param_scheduler = dict(
    _delete_=True,
    main={{_base_.param_scheduler}},
    adversary=[
        dict(type='MultiStepLR', by_epoch=True, milestones=[20, 50], gamma=0.1)
    ])
