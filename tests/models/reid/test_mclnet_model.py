"""MCLNet: the min-max steps' gradient isolation, center updates, the one-step path."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from vireid.engine.optimizers.multi_optim_wrapper_constructor import MultiOptimWrapperConstructor
from vireid.models.reid.mclnet import MCLNet
from vireid.structures import ReIDDataSample

import vireid.models.backbones.two_stream_resnet  # noqa: F401  (registers)
import vireid.models.data_preprocessors.reid_data_preprocessor  # noqa: F401
import vireid.models.heads.bnneck_head  # noqa: F401
import vireid.models.heads.modality_classifier  # noqa: F401
import vireid.models.losses.mclnet_losses  # noqa: F401
import vireid.models.losses.wrt  # noqa: F401

NUM_IDS = 3
SYSU_CAMS = (1, 2, 3, 4, 5, 6)


def tiny_cfg(mcm=True, ica=True, cca=True, **kwargs):
    cfg = dict(
        backbone=dict(type='TwoStreamResNet', depth=18, base_channels=8, split='stem'),
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(type='BNNeckHead', in_channels=64, num_classes=NUM_IDS,
                  loss_cls=dict(type='mmpretrain.CrossEntropyLoss', loss_weight=1.0),
                  loss_triplet=dict(type='WRTLoss')),
        modality_classifier=dict(type='ModalityClassifier', in_channels=64,
                                 hidden_channels=16) if mcm else None,
        ica=dict(type='MarginalCenterAggregationLoss', sigma=8.0, rho=4500.0,
                 loss_weight=5e-4) if ica else None,
        cca=dict(type='MarginalCenterAggregationLoss', sigma=8.0, rho=4500.0,
                 loss_weight=5e-4) if cca else None,
        camera_ids=SYSU_CAMS if cca else None,
        data_preprocessor=dict(type='ReIDDataPreprocessor'))
    cfg.update(kwargs)
    return cfg


def make_batch(seed=0):
    """2 ids x 2 visible (cams 1, 2) + 2 infrared (cam 3, 6) images of 64x32."""
    gen = torch.Generator().manual_seed(seed)
    inputs, samples = [], []
    for label in range(2):
        for modality, cams in ((0, (1, 2)), (1, (3, 6))):
            for camid in cams:
                inputs.append(torch.randint(0, 256, (3, 64, 32), generator=gen, dtype=torch.uint8))
                samples.append(ReIDDataSample(metainfo=dict(
                    gt_label=label, pid=label + 10, camid=camid, modality=modality,
                    img_path=f'id{label}_cam{camid}.jpg')))
    return dict(inputs=inputs, data_samples=samples)


def build(seed=0, **kwargs):
    torch.manual_seed(seed)
    model = MCLNet(**tiny_cfg(**kwargs))
    model.init_weights()
    return model


def optim_dict(model, main_lr=0.1, adversary_lr=0.1):
    return MultiOptimWrapperConstructor(dict(
        main=dict(optimizer=dict(type='SGD', lr=main_lr, momentum=0.9)),
        adversary=dict(optimizer=dict(type='SGD', lr=adversary_lr, momentum=0.9),
                       modules=['modality_classifier'])))(model)


def params_of(module):
    return {n: p.detach().clone() for n, p in module.named_parameters()}


def changed(before, module):
    return {n for n, p in module.named_parameters() if not torch.equal(before[n], p.detach())}


def test_train_step_logs_every_term():
    model = build()
    logs = model.train_step(make_batch(), optim_dict(model))
    for key in ('loss', 'loss_id', 'loss_tri', 'loss_ica', 'loss_cca', 'loss_confusion',
                'loss_modality', 'acc_modality', 'acc_id', 'loss_adversary'):
        assert key in logs and torch.is_tensor(logs[key]), key
    # the E-step total is the sum of its terms; the M-step one is L_m alone
    main_terms = ('loss_id', 'loss_tri', 'loss_ica', 'loss_cca', 'loss_confusion')
    assert torch.allclose(logs['loss'], sum(logs[k] for k in main_terms))
    assert torch.allclose(logs['loss_adversary'], logs['loss_modality'])
    assert 0 <= logs['acc_modality'].item() <= 100


def test_m_step_changes_only_the_classifier():
    model = build()
    before = params_of(model)
    # main lr 0: whatever moves comes from the M step
    model.train_step(make_batch(), optim_dict(model, main_lr=0.0))
    moved = changed(before, model)
    assert moved and all(n.startswith('modality_classifier.') for n in moved)
    assert len(moved) == len(list(model.modality_classifier.parameters()))


def test_e_step_leaves_the_classifier_alone():
    model = build()
    reference = copy.deepcopy(model)
    batch = make_batch()
    model.train_step(batch, optim_dict(model))

    # the same M step alone, from the same start
    wrappers = optim_dict(reference)
    data = reference.data_preprocessor(batch, True)
    feats = reference.forward_train(data['inputs'], data['data_samples'])
    detached = {k: v.detach() for k, v in feats.items()}
    losses = reference.adversary_loss(detached, data['data_samples'])
    wrappers['adversary'].update_params(reference.parse_losses(losses)[0])

    for (name, p), q in zip(model.modality_classifier.named_parameters(),
                            reference.modality_classifier.parameters()):
        assert torch.allclose(p, q, atol=0, rtol=0), name
        # the E step left no gradient behind on M for the next M step
        assert p.grad is None or not p.grad.any(), name
    # while the extractor did move in the E step
    assert not torch.equal(next(model.backbone.visible.parameters()),
                           next(reference.backbone.visible.parameters()))


def test_confusion_loss_reaches_the_extractor_not_the_classifier():
    model = build()
    data = model.data_preprocessor(make_batch(), True)
    feats = model.forward_train(data['inputs'], data['data_samples'])
    model.main_loss(feats, data['data_samples'])['loss_confusion'].backward()
    assert all(p.grad is None for p in model.modality_classifier.parameters())
    stem = next(model.backbone.visible.parameters())
    assert stem.grad is not None and stem.grad.abs().sum() > 0
    assert next(model.backbone.infrared.parameters()).grad.abs().sum() > 0


def test_m_step_loss_does_not_reach_the_extractor():
    model = build()
    data = model.data_preprocessor(make_batch(), True)
    feats = model.forward_train(data['inputs'], data['data_samples'])
    losses = model.adversary_loss(dict(feats, pooled=feats['pooled'].detach()), data['data_samples'])
    losses['loss_modality'].backward()
    assert all(p.grad is None for p in model.backbone.parameters())
    assert all(p.grad is not None for p in model.modality_classifier.parameters())


def test_centers_are_updated_by_the_main_optimizer():
    model = build()
    wrappers = optim_dict(model)
    main_params = {id(p) for g in wrappers['main'].optimizer.param_groups for p in g['params']}
    assert id(model.ica.centers) in main_params and id(model.cca.centers) in main_params
    ica, cca = model.ica.centers.detach().clone(), model.cca.centers.detach().clone()
    model.train_step(make_batch(), wrappers)
    # only the rows of the classes present in the batch move
    assert not torch.equal(model.ica.centers[:2], ica[:2])
    assert torch.equal(model.ica.centers[2], ica[2])
    cams = [SYSU_CAMS.index(c) for c in (1, 2, 3, 6)]
    assert not torch.equal(model.cca.centers[cams], cca[cams])
    assert torch.equal(model.cca.centers[[3, 4]], cca[[3, 4]])  # cams 4, 5 absent
    assert model.ica.centers.shape == (NUM_IDS, 64) and model.cca.centers.shape == (6, 64)


def test_before_update_logits_use_the_classifier_before_its_step():
    model = build(confusion_logits='before_update')
    data = model.data_preprocessor(make_batch(), True)
    feats = model.forward_train(data['inputs'], data['data_samples'])
    expected = model.modality_classifier(feats['pooled'])
    assert torch.allclose(feats['confusion_logits'], expected)
    logs = model.train_step(make_batch(), optim_dict(model))
    assert torch.isfinite(logs['loss_confusion'])


def test_updated_logits_use_the_classifier_after_its_step():
    model = build(confusion_logits='updated')
    seen = {}
    forward_train = model.forward_train

    def recording_forward_train(inputs, data_samples):
        features = forward_train(inputs, data_samples)
        seen['pooled'] = features['pooled'].detach().clone()
        return features

    model.forward_train = recording_forward_train
    model.loss_confusion.register_forward_hook(
        lambda module, args, out: seen.update(logits=args[0].detach().clone()))
    before = copy.deepcopy(model.modality_classifier)
    model.train_step(make_batch(), optim_dict(model))
    # the E step leaves M alone: M now is M after its own step
    after = model.modality_classifier(seen['pooled']).detach()
    torch.testing.assert_close(seen['logits'], after)
    assert not torch.allclose(after, before(seen['pooled']))


def test_without_mcm_one_ordinary_step():
    model = build(mcm=False)
    assert model.modality_classifier is None
    before = params_of(model)
    wrapper = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    logs = model.train_step(make_batch(), wrapper)
    assert 'loss_confusion' not in logs and 'loss_modality' not in logs
    assert {'loss_id', 'loss_tri', 'loss_ica', 'loss_cca'} <= set(logs)
    assert 'ica.centers' in changed(before, model)
    with pytest.raises(ValueError, match='one ordinary optim_wrapper'):
        model.train_step(make_batch(), OptimWrapperDict(main=wrapper))


def test_with_mcm_needs_an_optim_wrapper_dict():
    model = build()
    with pytest.raises(ValueError, match='MultiOptimWrapperConstructor'):
        model.train_step(make_batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))


def test_plain_agw_rows_have_no_center_terms():
    model = build(mcm=False, ica=False, cca=False)
    logs = model.train_step(make_batch(), OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1)))
    assert set(k for k in logs if k.startswith('loss')) == {'loss', 'loss_id', 'loss_tri'}


def test_center_feature_is_the_bnneck_output():
    model = build()
    pooled = torch.randn(8, 64)
    model.train()
    expected = model.head.bn(pooled)
    assert torch.allclose(model.bnneck_feature(pooled), expected, atol=1e-5)


def test_camera_mapping_and_errors():
    model = build()
    samples = make_batch()['data_samples']
    assert model.camera_labels(samples, 'cpu').tolist() == [0, 1, 2, 5] * 2
    samples[0].set_metainfo(dict(camid=9))
    with pytest.raises(ValueError, match='camid 9 of id0_cam1.jpg'):
        model.camera_labels(samples, 'cpu')
    with pytest.raises(ValueError, match='camera_ids'):
        MCLNet(**tiny_cfg(camera_ids=None))
    with pytest.raises(ValueError, match='center_feature'):
        MCLNet(**tiny_cfg(center_feature='logits'))
