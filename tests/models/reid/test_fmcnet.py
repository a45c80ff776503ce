"""FMCNet model: gradient isolation of the alternating steps, logged terms, test features."""
import copy
import math

import pytest
import torch

import vireid.models.backbones  # noqa: F401  (registers TwoStreamResNet)
import vireid.models.data_preprocessors  # noqa: F401
import vireid.models.heads.fmc  # noqa: F401
import vireid.models.heads.sff  # noqa: F401
import vireid.models.losses.fmcnet_losses  # noqa: F401
import vireid.models.reid.fmcnet  # noqa: F401
from vireid.engine.optimizers import MultiOptimWrapperConstructor
from vireid.registry import MODELS
from vireid.structures import ReIDDataSample

NUM_CLASSES = 3
FEAT_DIM = 64  # ResNet-18 with base_channels 8: 8 * 8
LN3 = math.log(3)


def tiny_cfg(**overrides):
    cfg = dict(
        type='FMCNet',
        backbone=dict(type='TwoStreamResNet', depth=18, split='layer2',
                      specific_tail=True, base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        num_classes=NUM_CLASSES,
        feat_dim=FEAT_DIM,
        generator=dict(type='FeatureGenerator', hidden_channels=32))
    cfg.update(overrides)
    return cfg


_BUILT = {}


def build(**overrides):
    """A fresh copy of the tiny model (built and initialised once per setting)."""
    key = repr(sorted(overrides.items()))
    if key not in _BUILT:
        torch.manual_seed(0)
        model = MODELS.build(tiny_cfg(**overrides))
        model.init_weights()
        _BUILT[key] = model
    return copy.deepcopy(_BUILT[key])


def batch(order=None):
    """2 identities x 2 images x 2 modalities, ids 0 and 2 (1 is absent)."""
    torch.manual_seed(1)
    metas = [dict(gt_label=p, modality=m) for m in (0, 1) for p in (0, 2) for _ in range(2)]
    inputs = torch.rand(len(metas), 3, 32, 16) * 255
    if order is not None:
        metas, inputs = [metas[i] for i in order], inputs[order]
    return inputs, [ReIDDataSample(metainfo=m) for m in metas]


def optim(model, main_lr=0.1, adversary_lr=0.1):
    return MultiOptimWrapperConstructor(dict(
        main=dict(optimizer=dict(type='SGD', lr=main_lr)),
        adversary=dict(optimizer=dict(type='SGD', lr=adversary_lr),
                       modules=['discriminator_v2i', 'discriminator_i2v'])))(model)


def is_discriminator(name):
    return name.startswith('discriminator_')


def grads(model, keep):
    return {n: p.grad for n, p in model.named_parameters() if keep(n)}


def features(model):
    inputs, samples = batch()
    inputs = model.data_preprocessor(dict(inputs=inputs, data_samples=samples), True)['inputs']
    return model.forward_train(inputs, samples), samples


def test_adversary_loss_reaches_only_the_discriminators():
    model = build()
    feats, samples = features(model)
    detached = {k: v.detach() for k, v in feats.items()}
    losses = model.adversary_loss(detached, samples)
    (losses['loss_d_v2i'] + losses['loss_d_i2v']).backward()
    assert all(g is None for g in grads(model, lambda n: not is_discriminator(n)).values())
    assert all(g is not None and g.abs().sum() > 0
               for g in grads(model, is_discriminator).values())


def test_main_loss_gives_no_gradient_to_the_discriminators():
    model = build()
    feats, samples = features(model)
    losses = model.main_loss(feats, samples)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert all(g is None for g in grads(model, is_discriminator).values())
    assert model.backbone.visible.conv1.weight.grad.abs().sum() > 0


@pytest.mark.parametrize('term', ['loss_gan', 'loss_fc', 'loss_ic'])
def test_each_fmc_term_alone_trains_both_generators(term):
    model = build()
    feats, samples = features(model)
    model.main_loss(feats, samples)[term].backward()
    for name in ('generator_v2i', 'generator_i2v'):
        last = getattr(model, name).layers[4].weight.grad
        assert last is not None and last.abs().sum() > 0, (term, name)
    assert all(g is None for g in grads(model, is_discriminator).values())


def test_shared_id_loss_does_not_reach_the_generators():
    model = build()
    feats, samples = features(model)
    model.main_loss(feats, samples)['loss_id_sh'].backward()
    assert all(p.grad is None for p in model.generator_v2i.parameters())


def _snapshot(model):
    return {n: p.detach().clone() for n, p in model.named_parameters()}


def _changed(model, before):
    return {n for n, p in model.named_parameters() if not torch.equal(p, before[n])}


def test_train_step_updates_each_group_only_with_its_own_optimizer():
    model = build()
    inputs, samples = batch()
    # main frozen: only the adversary step can move weights -> only D's move
    before = _snapshot(model)
    log = model.train_step(dict(inputs=inputs, data_samples=samples),
                           optim(model, main_lr=0.0, adversary_lr=0.5))
    changed = _changed(model, before)
    assert changed and all(is_discriminator(n) for n in changed)
    # adversary frozen: the main step moves everything else, never D
    before = _snapshot(model)
    model.train_step(dict(inputs=inputs, data_samples=samples),
                     optim(model, main_lr=0.5, adversary_lr=0.0))
    changed = _changed(model, before)
    assert not any(is_discriminator(n) for n in changed)
    assert {'generator_v2i.layers.0.weight', 'fusion.fusion_weights',
            'classifier_sp_i.fc.weight'} <= changed
    # every term, the discriminators' accuracies and the fusion weights are logged
    expected = {'loss', 'loss_adversary', 'loss_id_sh', 'loss_id_sp', 'loss_shs', 'loss_dc',
                'loss_sps', 'loss_gan', 'loss_fc', 'loss_ic', 'loss_mc', 'loss_fid',
                'loss_d_v2i', 'loss_d_i2v', 'acc_d_v2i_real', 'acc_d_v2i_fake',
                'acc_d_i2v_real', 'acc_d_i2v_fake', 'fusion_w1_vis', 'fusion_w2_vis',
                'fusion_w1_ir', 'fusion_w2_ir'}
    assert expected <= set(log)
    assert all(torch.isfinite(v) for v in log.values())


def test_loss_weights_scale_their_terms():
    model = build()
    feats, samples = features(model)
    base = model.main_loss(feats, samples)
    model.loss_weights.update(gan=0.0, fc=2.0)
    scaled = model.main_loss(feats, samples)
    assert scaled['loss_gan'].item() == 0
    assert scaled['loss_fc'].item() == pytest.approx(2 * base['loss_fc'].item(), rel=1e-5)
    assert scaled['loss_ic'].item() == pytest.approx(base['loss_ic'].item(), rel=1e-5)


@pytest.mark.parametrize('name,dim', [('fused', 2 * FEAT_DIM), ('shared', FEAT_DIM),
                                      ('concat', 3 * FEAT_DIM), ('generated', FEAT_DIM)])
def test_predict_gives_normalised_test_features(name, dim):
    model = build(test_feature=name)
    model.eval()
    inputs, samples = batch()
    out = model(model.data_preprocessor(dict(inputs=inputs, data_samples=samples))['inputs'],
                samples, mode='predict')
    feats = torch.stack([s.pred_feature for s in out])
    assert feats.shape == (8, dim)
    assert torch.allclose(feats.norm(dim=1), torch.ones(8), atol=1e-5)


def test_fused_test_feature_is_eq16_of_own_modality():
    model = build()
    model.eval()
    with torch.no_grad():
        model.fusion.fusion_weights.copy_(torch.tensor([[1., 2.], [3., 4.]]))
    inputs, samples = batch()
    inputs = model.data_preprocessor(dict(inputs=inputs, data_samples=samples))['inputs']
    with torch.no_grad():
        fused = model(inputs, samples, mode='tensor')
        modality = torch.tensor([s.modality for s in samples])
        parts = model._features(inputs, modality)
    vis, ir = modality == 0, modality == 1
    g = parts['generated']
    # visible: 1 * F_sp,V + 2 * G_{V->I}(F_sh,V); infrared: 3 * F_sp,I + 4 * G_{I->V}(F_sh,I)
    assert torch.allclose(fused[vis, :FEAT_DIM], parts['shared'][vis])
    assert torch.allclose(fused[vis, FEAT_DIM:], parts['specific'][vis] + 2 * g[vis], atol=1e-5)
    assert torch.allclose(fused[ir, FEAT_DIM:], 3 * parts['specific'][ir] + 4 * g[ir], atol=1e-5)
    assert torch.allclose(g[vis], model.generator_v2i(parts['shared'][vis]), atol=1e-6)
    assert torch.allclose(g[ir], model.generator_i2v(parts['shared'][ir]), atol=1e-6)


def test_features_do_not_depend_on_sample_order():
    model = build()
    model.eval()
    order = [5, 0, 7, 2, 1, 6, 3, 4]
    inputs, samples = batch()
    inputs2, samples2 = batch(order)
    with torch.no_grad():
        a = model(model.data_preprocessor(dict(inputs=inputs))['inputs'], samples)
        b = model(model.data_preprocessor(dict(inputs=inputs2))['inputs'], samples2)
    assert torch.allclose(a[order], b, atol=1e-5)


def test_base_model_without_fmc_trains_with_one_optimizer():
    model = build(backbone=dict(type='TwoStreamResNet', depth=18, split='layer2',
                                specific_tail=False, base_channels=8),
                  with_sfd=False, with_fmc=False, sff=None, test_feature='shared')
    assert not hasattr(model, 'discriminator_v2i') and not hasattr(model, 'classifier_sp_v')
    wrappers = MultiOptimWrapperConstructor(
        dict(main=dict(optimizer=dict(type='SGD', lr=0.1))))(model)
    before = _snapshot(model)
    inputs, samples = batch()
    log = model.train_step(dict(inputs=inputs, data_samples=samples), wrappers)
    assert set(k for k in log if k.startswith('loss')) == {'loss', 'loss_id_sh'}
    assert 'classifier_sh.fc.weight' in _changed(model, before)


@pytest.mark.parametrize('overrides,match', [
    (dict(test_feature='nope'), 'test_feature'),
    (dict(with_fmc=False), 'sff needs with_fmc'),
    (dict(with_fmc=False, sff=None), "test_feature='fused'"),
    (dict(with_sfd=False), 'needs with_sfd'),
    (dict(loss_weights=dict(gan=1.0, typo=2.0)), 'typo'),
    (dict(fc_reduction='l2'), "fc_reduction must be one of .* got 'l2'"),
    (dict(with_sfd=False, with_fmc=False, sff=None, test_feature='shared'), 'specific_tail'),
])
def test_inconsistent_settings_are_rejected(overrides, match):
    with pytest.raises(ValueError, match=match):
        MODELS.build(tiny_cfg(**overrides))


def test_frozen_classifier_option_keeps_ic_off_the_specific_classifiers():
    model = build(ic_detach_classifier=True)
    feats, samples = features(model)
    model.main_loss(feats, samples)['loss_ic'].backward()
    assert model.classifier_sp_v.fc.weight.grad is None
    assert model.generator_v2i.layers[0].weight.grad.abs().sum() > 0
    model2 = build()
    feats, samples = features(model2)
    model2.main_loss(feats, samples)['loss_ic'].backward()
    assert model2.classifier_sp_v.fc.weight.grad.abs().sum() > 0


def test_fmc_loss_pairs_visible_generated_features_with_infrared_centers():
    model = build(fc_reduction='sum')
    feats, samples = features(model)
    feats = dict(feats)
    labels, modality = feats['labels'], feats['modality']
    # replace the features by hand-made ones: real specific features equal to
    # a per-(identity, modality) constant; generated features equal to the
    # matching target center except one visible sample off by (1, 1, 0...)
    real = torch.zeros(8, FEAT_DIM)
    real[:, 0] = labels.float() + 10 * modality.float()
    target = torch.zeros(8, FEAT_DIM)
    target[:, 0] = labels.float() + 10 * (1 - modality.float())
    generated = target.clone()
    generated[0, :2] += 1.0  # visible sample 0: l1 distance 2
    feats.update(specific=real, generated=generated)
    loss_fc = model._fmc_generator_losses(feats)['loss_fc']
    # V->I term: mean over the 4 visible samples = 2 / 4; I->V term: 0
    assert loss_fc.item() == pytest.approx(0.5)
    model.fc_reduction = 'mean'  # each distance averaged over the channels
    loss_fc = model._fmc_generator_losses(feats)['loss_fc']
    assert loss_fc.item() == pytest.approx(0.5 / FEAT_DIM)


def _discriminators_read_channels(model):
    """D_{V->I} scores channel 0 of a feature, D_{I->V} channel 1 (logit = that value)."""
    with torch.no_grad():
        for name, channel in (('discriminator_v2i', 0), ('discriminator_i2v', 1)):
            fc = getattr(model, name).fc
            fc.weight.zero_()
            fc.bias.zero_()
            fc.weight[0, channel] = 1.


def _channels(rows):
    """``[N, FEAT_DIM]`` features whose first two channels are ``rows``, the rest 0."""
    feats = torch.zeros(len(rows), FEAT_DIM)
    feats[:, :2] = torch.tensor(rows)
    return feats


def test_adversary_loss_eq12_real_specific_vs_generated_by_hand():
    # eq. 12, D side: D_{V->I} takes the real infrared F_sp,I as real (1) and
    # G_{V->I}(F_sh,V) of the visible samples as fake (0); D_{I->V} the reverse.
    # Samples: 2 visible, 2 infrared; (channel 0, channel 1) of each feature:
    #   specific:  visible (-ln3, -ln3), infrared (ln3, 0)
    #   generated: visible (0, 2),       infrared (5, -ln3)
    # v2i: BCE(ln3, 1) = log(4/3) + BCE(0, 0) = log 2          -> log(8/3)
    # i2v: BCE(-ln3, 1) = log 4 + BCE(-ln3, 0) = log(4/3)      -> log(16/3)
    model = build()
    _discriminators_read_channels(model)
    feats = dict(modality=torch.tensor([0, 0, 1, 1]),
                 specific=_channels([[-LN3, -LN3]] * 2 + [[LN3, 0.]] * 2),
                 generated=_channels([[0., 2.]] * 2 + [[5., -LN3]] * 2))
    losses = model.adversary_loss(feats, None)
    assert losses['loss_d_v2i'].item() == pytest.approx(math.log(8 / 3), abs=1e-6)
    assert losses['loss_d_i2v'].item() == pytest.approx(math.log(16 / 3), abs=1e-6)
    # D > 0.5 means real: v2i right on both; i2v wrong on its reals, right on its fakes
    assert losses['acc_d_v2i_real'].item() == 1 and losses['acc_d_v2i_fake'].item() == 1
    assert losses['acc_d_i2v_real'].item() == 0 and losses['acc_d_i2v_fake'].item() == 1


def test_generator_gan_loss_eq12_each_generator_scored_by_its_discriminator():
    # eq. 12, G side (non-saturating BCE(D(fake), 1)): G_{V->I}'s output (the
    # visible samples' F') is scored by D_{V->I} only, G_{I->V}'s by D_{I->V}.
    # generated (channel 0, channel 1): visible (ln3, -ln3), infrared (5, 0)
    # -> BCE(ln3, 1) = log(4/3) over the visible + BCE(0, 1) = log 2 over the
    #    infrared = log(8/3)
    model = build()
    _discriminators_read_channels(model)
    feats, _ = features(model)
    assert feats['modality'].tolist() == [0] * 4 + [1] * 4
    feats = dict(feats, generated=_channels([[LN3, -LN3]] * 4 + [[5., 0.]] * 4))
    loss_gan = model._fmc_generator_losses(feats)['loss_gan']
    assert loss_gan.item() == pytest.approx(math.log(8 / 3), abs=1e-6)


@pytest.mark.parametrize('ic_detach_classifier', [False, True])
def test_ic_loss_eq14_classifies_generated_features_in_the_target_modality(
        ic_detach_classifier):
    # eq. 14: G_{V->I}(F_sh,V) goes through P_sp^I, G_{I->V}(F_sh,I) through P_sp^V.
    # Both classifiers ignore their input: P_sp^V gives logits (0, 0, 0)
    # (CE log 3 for any label), P_sp^I gives (ln2, 0, 0) (CE log 2 for label 0).
    # With the visible samples labelled 0 and the infrared ones 2:
    # L_IC = log 2 (visible, by P_sp^I) + log 3 (infrared, by P_sp^V) = log 6
    # (the other way round: log 3 + log 4 = log 12)
    model = build(ic_detach_classifier=ic_detach_classifier)
    with torch.no_grad():
        for classifier in (model.classifier_sp_v, model.classifier_sp_i):
            classifier.fc.weight.zero_()
            classifier.fc.bias.zero_()
        model.classifier_sp_i.fc.bias[0] = math.log(2)
    feats, _ = features(model)
    assert feats['modality'].tolist() == [0] * 4 + [1] * 4
    feats = dict(feats, labels=torch.tensor([0] * 4 + [2] * 4))
    loss_ic = model._fmc_generator_losses(feats)['loss_ic']
    assert loss_ic.item() == pytest.approx(math.log(6), abs=1e-5)
