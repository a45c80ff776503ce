"""MCLNet(graph_losses=True): its loss terms see tensors only, and replayed they train as eager ones."""
from pathlib import Path

import pytest
import torch
from mmengine.config import ConfigDict
from test_loss_graphs import assert_graphed_trains_as_eager  # same directory
from test_mclnet_model import build, make_batch, optim_dict, tiny_cfg

from vireid.models.reid.loss_graphs import _FeatureLoss
from vireid.models.reid.mclnet import MCLNet
from vireid.structures import ReIDDataSample
from vireid.utils.fast_path import use_cuda_graphs

REPO = Path(__file__).resolve().parents[3]
# per step: identities of make_batch's two label slots, and each modality's cameras
RELABEL = [((0, 2), {1: 4, 2: 5, 3: 6, 6: 3}), ((2, 1), {}), ((1, 0), {1: 2, 2: 1}),
           ((2, 0), {3: 6, 6: 3})]


def step_batch(step):
    data = make_batch(seed=step)
    labels, cameras = RELABEL[step % len(RELABEL)]
    data['data_samples'] = [ReIDDataSample(metainfo=dict(
        s.metainfo, gt_label=labels[s.gt_label], camid=cameras.get(s.camid, s.camid)))
        for s in data['data_samples']]
    return data


@pytest.mark.parametrize('center_mode', ['parameter', 'batch_mean'])
@pytest.mark.parametrize('confusion_logits', ['updated', 'before_update'])
@pytest.mark.parametrize('cca', [True, False])
def test_both_loss_functions_read_nothing_but_their_features(cca, confusion_logits, center_mode):
    cfg = tiny_cfg(cca=cca, confusion_logits=confusion_logits, graph_losses=True)
    for name in ('ica', 'cca'):
        if cfg[name]:
            cfg[name] = dict(cfg[name], center_mode=center_mode)
    torch.manual_seed(0)
    model = MCLNet(**cfg).train()
    data = model.data_preprocessor(step_batch(0), True)
    features = model.forward_train(data['inputs'], data['data_samples'])
    detached = {k: v.detach() for k, v in features.items()}
    # M's logits for L_e come in as a feature in either mode: no graph holds M's frozen copy
    features = model.after_adversary_step(features)
    assert all(torch.is_tensor(value) for value in features.values())
    assert features['confusion_logits'].requires_grad
    # what a capture runs: data_samples that raise when read
    for loss_fn, feats in ((model.adversary_loss, detached), (model.main_loss, features)):
        graphed = _FeatureLoss(loss_fn)(feats)
        eager = loss_fn(feats, data['data_samples'])
        assert graphed.keys() == eager.keys()
        for name in graphed:
            torch.testing.assert_close(graphed[name], eager[name], msg=name)
    assert ('loss_cca' in model.main_loss(features, None)) == cca


def test_the_benchmark_graphs_mclnet_losses_too():
    cfg = ConfigDict(type='MCLNet', backbone=dict(type='TwoStreamResNet'))
    use_cuda_graphs(cfg)
    assert cfg.graph_losses and cfg.backbone.cuda_graph


def train(model, steps, device):
    model = model.to(device).train()
    optim_wrapper = optim_dict(model, main_lr=0.05, adversary_lr=0.05)
    logs = []
    for step in range(steps):
        data = step_batch(step)
        data['inputs'] = torch.stack(data['inputs']).to(device)
        log_vars = model.train_step(data, optim_wrapper)
        logs.append(torch.stack([log_vars[k].detach().float() for k in sorted(log_vars)]))
    return torch.stack(logs), model


@pytest.mark.gpu
@pytest.mark.parametrize('confusion_logits', ['updated', 'before_update'])
def test_graphed_steps_match_eager_steps(confusion_logits):
    graphed = assert_graphed_trains_as_eager(build(confusion_logits=confusion_logits), train)
    # one graph for the M step's terms, one for the E step's
    assert graphed._loss_graphs.num_graphs == 2


@pytest.mark.gpu
def test_full_size_graphed_steps_stay_finite_under_bf16(monkeypatch):
    # ResNet-50 MCLNet, 64 images, bf16, backbone and loss graphs: step 0's backbone
    # gradients came out NaN on an H200 until each capture got fresh cuBLAS
    # workspaces (vireid.models.cuda_graphs._CaptureGraph)
    from mmengine.optim import build_optim_wrapper

    from vireid.registry import MODELS
    from vireid.utils import benchmark as bench
    cfg = bench.load_config(str(REPO / 'configs/mclnet/mclnet_r50_sysu.py'), amp=True,
                            cuda_graph=True)
    monkeypatch.setattr(torch.backends.cudnn, 'benchmark', True)  # as training runs
    torch.manual_seed(0)
    model = bench.use_channels_last(MODELS.build(cfg.model).cuda().train())
    optim_wrapper = build_optim_wrapper(model, cfg.optim_wrapper)
    bench.start_schedule(optim_wrapper, cfg.get('param_scheduler'))
    nonfinite = []

    def check_gradients(optimizer, args, kwargs):
        nonfinite.extend(name for name, p in model.named_parameters()
                         if p.grad is not None and not torch.isfinite(p.grad).all())
    optim_wrapper['main'].optimizer.register_step_pre_hook(check_gradients)
    sampler = cfg.train_dataloader.sampler
    for step in range(3):
        torch.manual_seed(step)
        batch = bench.synthetic_batch(sampler.num_ids, sampler.num_instances, (288, 144), 'cuda')
        log_vars = model.train_step(batch, optim_wrapper)
        assert torch.isfinite(log_vars['loss']), (step, log_vars)
    assert not nonfinite, sorted(set(nonfinite))[:5]
    assert bench.skipped_updates() == 0
    assert model._loss_graphs.num_graphs == 2 and model.backbone._graphs.num_graphs == 1
