"""GeM: mmpretrain's GeneralizedMeanPooling pooled with a mean; the same values, gradients and weights."""
import pytest
import torch
from mmpretrain.models.necks import GeneralizedMeanPooling

from vireid.models.necks import GeM, generalized_mean


def test_gem_of_a_small_map_by_hand():
    x = torch.tensor([[[[1., 2.], [3., 4.]], [[0., 0.], [0., 2.]]]])  # [1, 2, 2, 2]
    # channel 0: ((1 + 8 + 27 + 64) / 4)^(1/3) = 25^(1/3); channel 1: (8 / 4)^(1/3) (zeros clamp to ~0)
    expected = torch.tensor([[25. ** (1 / 3), 2. ** (1 / 3)]])
    torch.testing.assert_close(generalized_mean(x, 3.), expected)


@pytest.mark.parametrize('p_trainable', [False, True])
def test_values_and_gradients_are_mmpretrains(p_trainable):
    torch.manual_seed(0)
    ours, theirs = GeM(p=3., p_trainable=p_trainable), GeneralizedMeanPooling(
        p=3., p_trainable=p_trainable)
    x = torch.rand(4, 6, 9, 5, dtype=torch.float64)
    x = x.to(memory_format=torch.channels_last).requires_grad_()
    x_theirs = x.detach().clone().requires_grad_()
    ours.double(), theirs.double()
    weights = torch.randn(4, 6, dtype=torch.float64)
    out, out_theirs = ours(x), theirs(x_theirs)
    torch.testing.assert_close(out, out_theirs)
    (out * weights).sum().backward()
    (out_theirs * weights).sum().backward()
    torch.testing.assert_close(x.grad, x_theirs.grad)
    if p_trainable:
        torch.testing.assert_close(ours.p.grad, theirs.p.grad)
    else:
        assert ours.p.grad is None


def test_tuples_pool_each_map_and_other_inputs_are_refused():
    gem = GeM(p=3., p_trainable=False)
    maps = (torch.rand(2, 3, 4, 4), torch.rand(2, 5, 2, 2))
    assert [out.shape for out in gem(maps)] == [(2, 3), (2, 5)]
    with pytest.raises(TypeError, match='not list'):
        gem(list(maps))


def test_checkpoints_of_either_class_load_into_the_other():
    theirs = GeneralizedMeanPooling(p=4.)
    ours = GeM(p=3.)
    ours.load_state_dict(theirs.state_dict())
    assert float(ours.p) == 4.
    GeneralizedMeanPooling().load_state_dict(ours.state_dict())
