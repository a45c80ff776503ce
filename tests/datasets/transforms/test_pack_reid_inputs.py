import numpy as np
import pytest
import torch

from vireid.datasets.transforms import PackReIDInputs
from vireid.structures import ReIDDataSample


def results(**extra):
    img = np.arange(4 * 3 * 3, dtype=np.uint8).reshape(4, 3, 3)
    out = dict(img=img, img_path='/x/cam3/0001/0001.jpg', gt_label=5, pid=17,
               camid=3, modality=1, img_shape=(4, 3), flip=True)
    out.update(extra)
    return out


def test_image_becomes_chw_uint8_tensor_with_same_pixels():
    packed = PackReIDInputs()(results())
    inputs = packed['inputs']
    assert isinstance(inputs, torch.Tensor)
    assert inputs.dtype == torch.uint8 and inputs.shape == (3, 4, 3)
    img = results()['img']
    for c in range(3):
        np.testing.assert_array_equal(inputs[c].numpy(), img[..., c])
    assert inputs.is_contiguous()


def test_labels_travel_in_the_data_sample():
    sample = PackReIDInputs()(results())['data_samples']
    assert isinstance(sample, ReIDDataSample)
    assert (sample.gt_label, sample.pid, sample.camid, sample.modality) == (
        5, 17, 3, 1)
    assert sample.img_path == '/x/cam3/0001/0001.jpg'
    assert sample.flip is True and sample.img_shape == (4, 3)


def test_missing_label_is_an_error_naming_the_image():
    bad = results()
    del bad['modality']
    with pytest.raises(KeyError, match=r"0001.jpg.*modality"):
        PackReIDInputs()(bad)
