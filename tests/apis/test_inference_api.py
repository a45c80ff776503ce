"""vireid.apis: init_model, extract_features and retrieve on real image files."""
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from vireid.apis import RankedMatch, extract_features, init_model, retrieve

CONFIG = Path(__file__).resolve().parents[2] / 'configs' / 'agw' / 'agw_r18_synthetic.py'
H, W = 64, 32


def tiny_config():
    """Width-8 ResNet-18 AGW with a 64x32 test resize."""
    cfg = Config.fromfile(CONFIG)
    cfg.model.backbone.base_channels = 8
    cfg.model.head.in_channels = 64
    for name in ('val_dataloader', 'test_dataloader'):
        for step in cfg[name].dataset.pipeline:
            if step['type'] == 'Resize':
                step['scale'] = (W, H)
    return cfg


@pytest.fixture(scope='module')
def model():
    model = init_model(tiny_config())
    # the two stems start as copies of one ResNet: make them differ so
    # that the modality visibly matters
    with torch.no_grad():
        model.backbone.infrared.conv1.weight.mul_(-1)
    return model


@pytest.fixture(scope='module')
def images(synthetic_root):
    return sorted(str(p) for p in (synthetic_root / 'SYSU-MM01' / 'cam1').glob('*/*.jpg'))[:6]


def reference_features(model, paths, modality):
    """Resize with OpenCV, BGR -> RGB, ImageNet normalisation, then the
    backbone / GeM / BNNeck path of the model, L2-normalised."""
    mean = torch.tensor([123.675, 116.28, 103.53]).view(1, 3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(1, 3, 1, 1)
    batch = []
    for path in paths:
        img = cv2.resize(cv2.imread(path), (W, H), interpolation=cv2.INTER_LINEAR)
        batch.append(torch.from_numpy(img[..., ::-1].copy()).permute(2, 0, 1))
    inputs = (torch.stack(batch).float() - mean) / std
    with torch.no_grad():
        maps = model.backbone(inputs, torch.full((len(paths), ), modality))
        feats = model.head.bn(model.neck(maps[0]))
    return F.normalize(feats, dim=1)


def test_init_model_attaches_cfg_and_evaluates(model):
    assert not model.training and not model.head.bn.training
    assert model.cfg.model.backbone.base_channels == 8
    with pytest.raises(TypeError, match='config must be'):
        init_model(42)


def test_features_follow_the_test_pipeline_and_the_modality(model, images):
    for modality in (0, 1):
        got = extract_features(model, images, modality)
        assert got.shape == (len(images), 64) and got.dtype == torch.float32
        torch.testing.assert_close(got.norm(dim=1), torch.ones(len(images)))
        torch.testing.assert_close(got, reference_features(model, images, modality),
                                   atol=1e-5, rtol=1e-4)
    visible = extract_features(model, images[:2], 0)
    infrared = extract_features(model, images[:2], 1)
    assert (visible - infrared).abs().max() > 1e-3
    mixed = extract_features(model, images[:2], [0, 1])
    torch.testing.assert_close(mixed, torch.stack([visible[0], infrared[1]]))


def test_arrays_batches_and_single_images(model, images):
    from_paths = extract_features(model, images, 1, batch_size=64)
    arrays = [cv2.imread(path) for path in images]
    torch.testing.assert_close(extract_features(model, arrays, 1, batch_size=4),
                               from_paths)
    mixed = [images[0], arrays[1]]
    torch.testing.assert_close(extract_features(model, mixed, 1), from_paths[:2])
    torch.testing.assert_close(extract_features(model, arrays[2], 1), from_paths[2:3])
    torch.testing.assert_close(extract_features(model, images[3], 1), from_paths[3:4])


def test_progress_bar(model, images, capsys):
    extract_features(model, images, 0, batch_size=4, progress=True)
    assert f'{len(images)}/{len(images)}' in capsys.readouterr().out
    extract_features(model, images, 0, batch_size=64)  # one batch: no bar by default
    assert '/' not in capsys.readouterr().out


def test_bad_input_names_the_culprit(model, images, tmp_path):
    with pytest.raises(ValueError, match=r'image 1: arrays must be HxWx3 uint8'):
        extract_features(model, [cv2.imread(images[0]), np.zeros((8, 4, 3))], 0)
    with pytest.raises(ValueError, match='modality must be 0'):
        extract_features(model, images[:1], 2)
    with pytest.raises(ValueError, match='modality has 1 values for 2 images'):
        extract_features(model, images[:2], [0])
    missing = str(tmp_path / 'nope.jpg')
    with pytest.raises(FileNotFoundError, match='nope.jpg'):
        extract_features(model, [missing], 0)
    with pytest.raises(ValueError, match='no images'):
        extract_features(model, [], 0)


def test_checkpoint_round_trip_and_strict_loading(model, tmp_path):
    path = tmp_path / 'weights.pth'
    torch.save({'state_dict': model.state_dict()}, path)
    loaded = init_model(tiny_config(), str(path))
    for key, value in model.state_dict().items():
        torch.testing.assert_close(loaded.state_dict()[key], value)

    state = dict(model.state_dict())
    state.pop('head.classifier.weight')
    state['head.extra.weight'] = torch.zeros(1)
    other = tmp_path / 'other.pth'
    torch.save({'state_dict': state}, other)
    with pytest.raises(RuntimeError, match=r'(?s)unexpected key.*head\.extra\.weight'
                       r'.*missing keys.*head\.classifier\.weight'):
        init_model(tiny_config(), str(other))
    with pytest.raises(FileNotFoundError, match='absent.pth'):
        init_model(tiny_config(), str(tmp_path / 'absent.pth'))


def test_retrieve_ranks_each_query_first_against_itself(model, images):
    ranked = retrieve(model, (images[:3], 0), (images, 0), topk=4)
    assert len(ranked) == 3
    for q, matches in enumerate(ranked):
        assert [m.rank for m in matches] == [1, 2, 3, 4]
        assert isinstance(matches[0], RankedMatch)
        assert matches[0].index == q and matches[0].path == images[q]
        assert matches[0].distance == pytest.approx(0, abs=1e-5)
        distances = [m.distance for m in matches]
        assert distances == sorted(distances)
    # the distances are 1 - cosine of the extracted features
    feats = extract_features(model, images, 0)
    expected = 1 - float(feats[0] @ feats[ranked[0][1].index])
    assert ranked[0][1].distance == pytest.approx(expected, abs=1e-5)
    # arrays have no path; topk above the gallery size is capped
    ranked = retrieve(model, ([cv2.imread(images[0])], 0),
                      ([cv2.imread(p) for p in images], 0), topk=100)
    assert len(ranked[0]) == len(images) and ranked[0][0].path is None
    with pytest.raises(ValueError, match=r'query must be a pair \(images, modality\)'):
        retrieve(model, images, (images, 0))
