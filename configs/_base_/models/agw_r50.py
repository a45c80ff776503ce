# AGW (Ye et al., TPAMI 2021) on ResNet-50: modality-specific stem
# (conv1/bn1/relu/maxpool), shared layer1-4 with last stride 1, non-local
# blocks after the last two bottlenecks of layer2 and the last three of
# layer3 (0-based blocks 2, 3 and 3, 4, 5, where the reference code puts
# them), GeM pooling (p=3, fixed), BNNeck with frozen BN bias and a
# bias-free classifier; identity CE on the logits + WRT on the pre-BN
# feature. A dataset config sets model.head.num_classes (SYSU-MM01 395).
model = dict(
    type='AGW',
    data_preprocessor=dict(type='ReIDDataPreprocessor', bgr_to_rgb=True),
    backbone=dict(
        type='TwoStreamResNet',
        depth=50,
        split='stem',
        last_stride=1,
        non_local=dict(layer2=(2, 3), layer3=(3, 4, 5)),
        # AGW's reference code: dot-product affinity divided by the number of
        # positions, and (its reduc_ratio // reduc_ratio) one inner channel.
        # dict(mode='embedded_gaussian') gives Wang et al.'s softmax block.
        non_local_cfg=dict(mode='dot_product', inter_channels=1),
        init_cfg=dict(type='Pretrained', checkpoint='torchvision://resnet50')),
    neck=dict(type='GeM', p=3., p_trainable=False),
    head=dict(
        type='BNNeckHead',
        in_channels=2048,
        num_classes=395,
        neck_feat='after',
        loss_cls=dict(type='CrossEntropyLoss', loss_weight=1.0),
        loss_triplet=dict(type='WRTLoss', loss_weight=1.0)),
    flip_test=False)
