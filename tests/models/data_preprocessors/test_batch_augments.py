"""Batch augmentations on the device: the pipelines' crop / flip / erasing, same distributions."""
import mmcv
import numpy as np
import pytest
import torch
from mmpretrain.datasets.transforms import RandomErasing

from vireid.models.data_preprocessors import (BatchRandomCrop, BatchRandomErasing,
                                              BatchRandomFlip, BatchRandomGrayscale,
                                              ReIDDataPreprocessor)
from vireid.models.data_preprocessors.batch_augments import (crop_padded, erase_boxes,
                                                             random_crop_offsets,
                                                             random_erasing_boxes)


def test_crop_of_a_padded_image_by_hand():
    img = torch.arange(1., 10.).view(1, 1, 3, 3)
    # padding 1, offset (0, 0): the crop starts in the padding's corner
    top_left = crop_padded(img, torch.tensor([[0, 0]]), padding=1)
    assert top_left[0, 0].tolist() == [[0, 0, 0], [0, 1, 2], [0, 4, 5]]
    bottom_right = crop_padded(img, torch.tensor([[2, 2]]), padding=1, pad_val=-1.)
    assert bottom_right[0, 0].tolist() == [[5, 6, -1], [8, 9, -1], [-1, -1, -1]]
    assert crop_padded(img, torch.tensor([[1, 1]]), padding=1).equal(img)


def test_crop_equals_mmcv_pad_then_slice_for_random_offsets():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (6, 3, 12, 8)).float()
    offsets = random_crop_offsets(6, 3, 'cpu')
    out = crop_padded(images, offsets, padding=3)
    for img, (dy, dx), got in zip(images, offsets.tolist(), out):
        hwc = img.permute(1, 2, 0).numpy().astype(np.uint8)
        padded = mmcv.impad(hwc, padding=3, pad_val=0)
        expected = padded[dy:dy + 12, dx:dx + 8]
        np.testing.assert_array_equal(got.permute(1, 2, 0).numpy(), expected)


def test_crop_offsets_cover_zero_to_twice_the_padding():
    torch.manual_seed(0)
    offsets = random_crop_offsets(4000, 2, 'cpu')
    assert sorted(offsets.unique().tolist()) == [0, 1, 2, 3, 4]
    counts = torch.bincount(offsets.flatten(), minlength=5).float()
    assert (counts / counts.sum() - 0.2).abs().max() < 0.02


def test_flip_probability_and_content():
    torch.manual_seed(0)
    images = torch.randn(2000, 1, 2, 3)
    assert BatchRandomFlip(0.)(images).equal(images)
    assert BatchRandomFlip(1.)(images).equal(images.flip(-1))
    out = BatchRandomFlip(0.5)(images)
    flipped = (out == images.flip(-1)).flatten(1).all(1)
    kept = (out == images).flatten(1).all(1)
    assert (flipped | kept).all()
    assert abs(flipped.float().mean().item() - 0.5) < 0.04


def test_erase_a_box_by_hand():
    images = torch.zeros(2, 3, 4, 4)
    boxes = torch.tensor([[1, 1, 2, 2], [0, 0, 4, 4]])
    out = erase_boxes(images, boxes, torch.tensor([True, False]), fill=(1., 2., 3.))
    expected = torch.zeros(3, 4, 4)
    for c, value in enumerate((1., 2., 3.)):
        expected[c, 1:3, 1:3] = value
    assert out[0].equal(expected)
    assert out[1].equal(images[1])  # erase off: unchanged


def test_erasing_boxes_follow_mmpretrain_random_patch():
    h, w, n = 288, 144, 20000
    reference = RandomErasing(erase_prob=1., mode='const')
    ours_cfg = BatchRandomErasing()  # mmpretrain's defaults
    assert (*ours_cfg.area_range, *ours_cfg.aspect_range) == pytest.approx(
        (reference.min_area_ratio, reference.max_area_ratio, *reference.aspect_range))
    torch.manual_seed(0)
    ours = random_erasing_boxes(n, (h, w), *ours_cfg.area_range, ours_cfg.aspect_range,
                                'cpu').double()
    np.random.seed(0)
    theirs = torch.tensor([reference.random_patch(h, w) for _ in range(n)]).double()
    top, left, bh, bw = ours.unbind(1)
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + bh <= h).all() and (left + bw <= w).all()
    # the same distribution: the moments of each coordinate and of the area agree
    for a, b in zip(ours.unbind(1), theirs.unbind(1)):
        assert a.mean().item() == pytest.approx(b.mean().item(), rel=0.03)
        assert a.std().item() == pytest.approx(b.std().item(), rel=0.05)
    assert (bh * bw).mean().item() == pytest.approx((theirs[:, 2] * theirs[:, 3]).mean().item(),
                                                    rel=0.03)


def test_erasing_probability():
    torch.manual_seed(0)
    images = torch.zeros(4000, 3, 16, 8)
    out = BatchRandomErasing(erase_prob=0.25, fill_color=(1., 1., 1.))(images)
    erased = out.flatten(1).any(1)
    assert abs(erased.float().mean().item() - 0.25) < 0.03
    assert BatchRandomErasing(erase_prob=0.)(images).equal(images)
    with pytest.raises(ValueError, match='min_area_ratio'):
        BatchRandomErasing(min_area_ratio=0.5, max_area_ratio=0.1)


def test_preprocessor_augments_in_bgr_pixels_before_normalising_and_only_in_training():
    bgr_mean = (103.53, 116.28, 123.675)
    preprocessor = ReIDDataPreprocessor(batch_augments=[
        dict(type='BatchRandomErasing', erase_prob=1., min_area_ratio=1., max_area_ratio=1.,
             aspect_range=(2., 2.), fill_color=bgr_mean)])
    assert isinstance(preprocessor.batch_augments[0], BatchRandomErasing)
    images = torch.randint(0, 256, (2, 3, 8, 4), dtype=torch.uint8)
    # a box of the whole image's area at aspect (h / w) 2 is the whole image: the
    # BGR mean, after the BGR -> RGB swap and normalisation, is zero
    train = preprocessor(dict(inputs=images, data_samples=None), training=True)['inputs']
    torch.testing.assert_close(train, torch.zeros_like(train), atol=1e-5, rtol=0)
    test = preprocessor(dict(inputs=images, data_samples=None), training=False)['inputs']
    plain = ReIDDataPreprocessor()(dict(inputs=images, data_samples=None))['inputs']
    assert test.equal(plain)


def test_crop_module_keeps_shape_and_pads_with_pad_val():
    torch.manual_seed(0)
    images = torch.full((64, 3, 6, 4), 7.)
    out = BatchRandomCrop(padding=2, pad_val=-1.)(images)
    assert out.shape == images.shape
    values = set(out.unique().tolist())
    assert values == {7., -1.}


def test_grayscale_equals_mmpretrain_per_image():
    from mmpretrain.datasets.transforms import RandomGrayscale
    weights = (0.114, 0.587, 0.299)
    torch.manual_seed(0)
    images = torch.randint(0, 256, (5, 3, 6, 4)).float()
    out = BatchRandomGrayscale(prob=1., channel_weights=weights)(images)
    reference = RandomGrayscale(prob=1., keep_channels=True, channel_weights=weights)
    for img, got in zip(images, out):
        hwc = img.permute(1, 2, 0).numpy().astype(np.uint8)
        expected = reference.transform(dict(img=hwc))['img']
        np.testing.assert_array_equal(got.permute(1, 2, 0).numpy(), expected)
    assert BatchRandomGrayscale(prob=0.)(images).equal(images)
    half = BatchRandomGrayscale(prob=0.5)(torch.rand(4000, 3, 2, 2) * 255)
    grey = (half[:, :1] == half).flatten(1).all(1)
    assert abs(grey.float().mean().item() - 0.5) < 0.04
