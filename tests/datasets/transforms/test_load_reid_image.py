import cv2
import numpy as np
import pytest

from vireid.datasets import SYSUMM01Dataset
from vireid.datasets.transforms import LoadReIDImageFromFile


def test_colour_image_loads_as_hwc_uint8_bgr(tmp_path):
    img = np.zeros((12, 6, 3), np.uint8)
    img[..., 0] = 200  # blue in OpenCV's BGR order
    path = tmp_path / 'a.png'
    cv2.imwrite(str(path), img)
    results = LoadReIDImageFromFile()(dict(img_path=str(path)))
    assert results['img'].dtype == np.uint8
    assert results['img'].shape == (12, 6, 3)
    assert (results['img'][..., 0] == 200).all()
    assert (results['img'][..., 1:] == 0).all()
    assert results['ori_shape'] == (12, 6)


def test_single_channel_infrared_loads_as_three_equal_channels(tmp_path):
    ir = np.arange(12 * 6, dtype=np.uint8).reshape(12, 6)
    path = tmp_path / 'ir.bmp'
    cv2.imwrite(str(path), ir)
    img = LoadReIDImageFromFile()(dict(img_path=str(path)))['img']
    assert img.shape == (12, 6, 3)
    for c in range(3):
        np.testing.assert_array_equal(img[..., c], ir)


def test_zero_byte_image_names_the_file(tmp_path):
    path = tmp_path / 'empty.jpg'
    path.write_bytes(b'')
    with pytest.raises(ValueError, match=r'empty.jpg: image file is empty'):
        LoadReIDImageFromFile()(dict(img_path=str(path)))


def test_corrupt_image_names_the_file(tmp_path):
    path = tmp_path / 'corrupt.jpg'
    path.write_bytes(b'\xff\xd8 not a jpeg at all' * 10)
    with pytest.raises(ValueError, match=r'corrupt.jpg: cannot decode'):
        LoadReIDImageFromFile()(dict(img_path=str(path)))


def test_missing_image_names_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r'gone.jpg: image not found'):
        LoadReIDImageFromFile()(dict(img_path=str(tmp_path / 'gone.jpg')))


def test_dataset_item_with_undecodable_image_names_the_file(tiny_sysu):
    bad = tiny_sysu / 'cam1' / '0001' / '0001.jpg'
    bad.write_bytes(b'')
    dataset = SYSUMM01Dataset(
        str(tiny_sysu), pipeline=[dict(type='LoadReIDImageFromFile')])
    index = [dataset.get_data_info(i)['img_path']
             for i in range(len(dataset))].index(str(bad))
    with pytest.raises(ValueError, match='cam1/0001/0001.jpg'):
        dataset[index]
