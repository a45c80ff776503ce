"""host_values reads scalar tensors back in one go and leaves everything else alone."""
import torch

from vireid.utils.host_values import host_values


def test_scalars_become_numbers_in_place_and_the_rest_passes_through():
    big = torch.ones(3)
    values = [torch.tensor(1.5), 2, torch.tensor([7], dtype=torch.int64), big, 'x',
              torch.tensor(float('nan'))]
    out = host_values(values)
    assert out[:3] == [1.5, 2, 7.0]
    assert out[3] is big and out[4] == 'x'
    assert out[5] != out[5]  # NaN survives
    assert all(type(v) is float for v in (out[0], out[2]))


def test_no_tensors_and_empty_input():
    assert host_values([]) == []
    assert host_values([1, 'a']) == [1, 'a']
