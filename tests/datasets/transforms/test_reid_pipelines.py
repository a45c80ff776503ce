"""The configs' train and test pipelines on real image files."""
import os.path as osp

import cv2
import numpy as np
import torch
from mmengine import Config
from PIL import Image

from vireid.datasets import SYSUMM01Dataset

CFG = osp.join(osp.dirname(__file__), '..', '..', '..', 'configs', '_base_',
               'datasets', 'sysu_mm01.py')


def build(root, which):
    cfg = Config.fromfile(CFG)
    return SYSUMM01Dataset(str(root), split='train',
                           pipeline=cfg[which], serialize_data=False)


def run(dataset, index, seed):
    np.random.seed(seed)
    return dataset[index]


def test_train_pipeline_output_and_determinism(tiny_sysu):
    dataset = build(tiny_sysu, 'train_pipeline')
    for index in (0, len(dataset) - 1):  # a visible and an infrared image
        out = run(dataset, index, seed=3)
        assert out['inputs'].shape == (3, 288, 144)
        assert out['inputs'].dtype == torch.uint8
        assert out['data_samples'].modality == dataset.get_data_info(
            index)['modality']
        again = run(dataset, index, seed=3)
        assert torch.equal(out['inputs'], again['inputs'])
    # the augmentation is random: different seeds give different images
    outs = {run(dataset, 0, seed).get('inputs').numpy().tobytes()
            for seed in range(6)}
    assert len(outs) > 1


def test_test_pipeline_is_the_reference_codes_lanczos_resize(tiny_sysu):
    dataset = build(tiny_sysu, 'test_pipeline')
    path = dataset.get_data_info(0)['img_path']
    # the reference code's img.resize((144, 288), Image.ANTIALIAS), on the decoded image
    expected = np.asarray(Image.fromarray(cv2.imread(path, cv2.IMREAD_COLOR)).resize(
        (144, 288), Image.LANCZOS))
    assert not np.array_equal(expected, cv2.resize(cv2.imread(path), (144, 288)))
    out = run(dataset, 0, seed=0)
    np.testing.assert_array_equal(out['inputs'].permute(1, 2, 0).numpy(),
                                  expected)
    assert torch.equal(out['inputs'], run(dataset, 0, seed=1)['inputs'])
