"""ReIDDataPreprocessor: stacking, BGR->RGB, ImageNet normalisation, channels_last."""
import pytest
import torch

from vireid.models.data_preprocessors import ReIDDataPreprocessor
from vireid.structures import ReIDDataSample


def bgr_image(b, g, r, h=4, w=2):
    img = torch.empty(3, h, w, dtype=torch.uint8)
    img[0], img[1], img[2] = b, g, r
    return img


def test_stacks_converts_and_normalises():
    preprocessor = ReIDDataPreprocessor()
    samples = [ReIDDataSample(metainfo=dict(modality=0)),
               ReIDDataSample(metainfo=dict(modality=1))]
    data = dict(inputs=[bgr_image(0, 128, 255), bgr_image(10, 20, 30)],
                data_samples=samples)
    out = preprocessor(data, training=True)
    inputs = out['inputs']
    assert inputs.shape == (2, 3, 4, 2) and inputs.dtype == torch.float32
    # channel 0 is now red: (255 - 123.675) / 58.395
    assert inputs[0, 0, 0, 0].item() == pytest.approx((255 - 123.675) / 58.395)
    assert inputs[0, 1, 0, 0].item() == pytest.approx((128 - 116.28) / 57.12)
    assert inputs[0, 2, 0, 0].item() == pytest.approx((0 - 103.53) / 57.375)
    assert inputs[1, 0, 0, 0].item() == pytest.approx((30 - 123.675) / 58.395)
    assert [s.modality for s in out['data_samples']] == [0, 1]


def test_accepts_a_stacked_batch_and_channels_last():
    preprocessor = ReIDDataPreprocessor(channels_last=True)
    batch = torch.stack([bgr_image(1, 2, 3, 8, 4)] * 2)
    out = preprocessor(dict(inputs=batch, data_samples=None))
    assert out['inputs'].is_contiguous(memory_format=torch.channels_last)
    expected = ReIDDataPreprocessor()(dict(inputs=batch))['inputs']
    torch.testing.assert_close(out['inputs'], expected)


def test_rejects_mixed_sizes_and_gray_images():
    preprocessor = ReIDDataPreprocessor()
    with pytest.raises(ValueError, match='same'):
        preprocessor(dict(inputs=[bgr_image(0, 0, 0, 4, 2), bgr_image(0, 0, 0, 6, 2)]))
    with pytest.raises(ValueError, match=r'\[B, 3, H, W\]'):
        preprocessor(dict(inputs=[torch.zeros(1, 4, 2, dtype=torch.uint8)]))


def test_label_only_samples_pass_through_uncopied():
    # moving a data element deep-copies its metainfo, once per sample and step
    preprocessor = ReIDDataPreprocessor()
    samples = [ReIDDataSample(metainfo=dict(gt_label=i, modality=i % 2, img_path=f'{i}.jpg'))
               for i in range(3)]
    out = preprocessor(dict(inputs=[bgr_image(1, 2, 3)] * 3, data_samples=samples), training=True)
    assert all(a is b for a, b in zip(out['data_samples'], samples))


def test_samples_fed_again_with_their_predictions_pass_through_too():
    # a benchmark (or a caller) feeding one batch twice: predict() wrote pred_feature into it
    preprocessor = ReIDDataPreprocessor()
    sample = ReIDDataSample(metainfo=dict(gt_label=0, modality=0))
    sample.pred_feature = torch.arange(4.)
    out = preprocessor(dict(inputs=[bgr_image(1, 2, 3)], data_samples=[sample]))
    assert out['data_samples'][0] is sample


def test_samples_with_input_fields_are_moved():
    preprocessor = ReIDDataPreprocessor()
    sample = ReIDDataSample(metainfo=dict(gt_label=0, modality=0))
    sample.set_field(torch.arange(4.), 'gt_mask')
    out = preprocessor(dict(inputs=[bgr_image(1, 2, 3)], data_samples=[sample]))
    moved = out['data_samples'][0]
    # BaseDataElement.to builds a new element (on a GPU, with its tensors there)
    assert moved is not sample and moved.gt_label == 0
    torch.testing.assert_close(moved.gt_mask, sample.gt_mask)
