"""tools/analysis_tools/check_cuda_graphs.py: graphed and eager copies compared step by step."""
import importlib.util
from pathlib import Path

import pytest
import torch
import torch.nn as nn

ROOT = Path(__file__).resolve().parents[2]
TINY = [str(ROOT / 'configs/agw/agw_r18_synthetic.py'), '--steps', '2', '--img-size', '32', '16',
        '--device', 'cpu', '--cfg-options', 'train_dataloader.sampler.num_ids=2',
        'train_dataloader.sampler.num_instances=1', 'model.backbone.base_channels=8',
        'model.head.in_channels=64']


@pytest.fixture
def tool():
    spec = importlib.util.spec_from_file_location(
        'check_cuda_graphs', ROOT / 'tools/analysis_tools/check_cuda_graphs.py')
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_drift_is_the_gap_to_eager_over_how_far_eager_moved(tool):
    nan = float('nan')
    initial = dict(a=torch.zeros(2), still=torch.ones(1), same=torch.ones(1), b=torch.zeros(1),
                   both_nan=torch.zeros(2))
    eager = dict(a=torch.tensor([0.0, 2.0]), still=torch.ones(1), same=torch.ones(1),
                 b=torch.ones(1), both_nan=torch.tensor([1.0, nan]))
    graphed = dict(a=torch.tensor([0.0, 2.5]), still=torch.full((1, ), 7.0), same=torch.ones(1),
                   b=torch.tensor([nan]), both_nan=torch.tensor([1.0, nan]))
    result = dict((name, drift) for drift, name in tool.drifts(graphed, eager, initial))
    # moved where eager training did not, or non-finite where it stayed finite
    assert result['still'] == result['b'] == float('inf')
    assert result['a'] == 0.25
    # no scale to judge by, but identical (NaN where eager has NaN)
    assert result['same'] == result['both_nan'] == 0.0


def test_on_the_cpu_both_copies_train_alike(tool, capsys):
    assert tool.main(TINY) == 0
    printed = capsys.readouterr().out
    assert 'step 1 eager/graphed' in printed and 'loss_id=' in printed
    assert 'graphed training matches eager within 0.05 (graphs: backbone; amp=False)' in printed


def test_a_copy_that_trains_differently_is_named(tool, monkeypatch, capsys):
    make = tool.make_graphed_copy

    def perturbed(model, graphs=None):  # stands in for a replay that computes something else
        graphed = make(model, graphs)
        with torch.no_grad():
            graphed.head.classifier.weight.mul_(3)
        return graphed

    monkeypatch.setattr(tool, 'make_graphed_copy', perturbed)
    assert tool.main(TINY) == 1
    printed = capsys.readouterr().out
    largest = printed.split('largest drifts')[1].splitlines()[1]
    assert largest.split()[-1] == 'head.classifier.weight'
    assert 'differs from eager beyond 0.05' in printed


def test_both_copies_draw_the_same_batch_augmentations(tool, capsys):
    # the packed config flips, crops and erases on the device, from the global RNG
    packed = [str(ROOT / 'configs/agw/agw_r18_synthetic_packed.py')] + TINY[1:]
    assert tool.main(packed) == 0
    assert 'matches eager' in capsys.readouterr().out


def test_more_skipped_updates_in_the_graphed_copy_fail_the_check(tool, monkeypatch, capsys):
    counts = iter([0, 1] * 2)  # per step: the eager copy's, then the graphed copy's
    monkeypatch.setattr(tool.bench, 'skipped_updates', lambda: next(counts))
    assert tool.main(TINY) == 1
    assert '2 skipped updates graphed, 0 eager' in capsys.readouterr().out


def test_losses_cannot_be_graphed_for_a_model_without_the_option(tool):
    with pytest.raises(ValueError, match='AGW has no graph_losses option'):
        tool.main(TINY[:1] + ['--graphs', 'backbone', 'losses'] + TINY[1:])


@pytest.mark.gpu
@pytest.mark.parametrize('amp', [[], ['--amp'], ['--amp', '--amp-dtype', 'float16']])
def test_on_a_gpu_the_graphed_backbone_trains_as_the_eager_one(tool, amp, capsys):
    args = [a for a in TINY if a not in ('--device', 'cpu')]
    assert tool.main(args[:1] + amp + ['--channels-last'] + args[1:]) == 0
    assert 'graphs replayed: backbone 1' in capsys.readouterr().out


def test_a_model_the_registry_does_not_know_can_have_its_losses_graphed(tool):
    class Unregistered(nn.Module):
        def __init__(self, graph_losses=False):
            super().__init__()
            self.backbone = nn.Linear(1, 1)
            self.backbone.cuda_graph = False
            self.graph_losses = graph_losses

    graphed = tool.make_graphed_copy(Unregistered(), ['backbone', 'losses'])
    assert graphed.graph_losses and graphed.backbone.cuda_graph
