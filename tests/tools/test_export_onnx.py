"""tools/deployment/export_onnx.py: both modalities of tiny AGW / MCLNet /
FMCNet models exported, then run with ONNX Runtime and compared here."""
import importlib.util
from pathlib import Path

import pytest
import torch

from vireid.apis import init_model
from vireid.structures import ReIDDataSample

onnx = pytest.importorskip('onnx')
onnxruntime = pytest.importorskip('onnxruntime')

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = """
test_dataloader = dict(dataset=dict(pipeline=[
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(32, 64), keep_ratio=False),
    dict(type='PackReIDInputs')]))
"""
# depth 18, base_channels 8 -> 64-channel features
MODELS = {
    'agw': ('agw/agw_r18_synthetic.py',
            "model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64))"),
    'mclnet': ('mclnet/mclnet_r18_synthetic.py',
               "model = dict(backbone=dict(base_channels=8), head=dict(in_channels=64),\n"
               "             modality_classifier=dict(in_channels=64), flip_test=True)"),
    'fmcnet': ('fmcnet/fmcnet_r18_synthetic.py',
               "model = dict(backbone=dict(base_channels=8), feat_dim=64,\n"
               "             generator=dict(hidden_channels=64))"),
}


def load_tool():
    path = ROOT / 'tools' / 'deployment' / 'export_onnx.py'
    spec = importlib.util.spec_from_file_location('export_onnx', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def predict(model, inputs, modality):
    samples = [ReIDDataSample(metainfo=dict(modality=modality)) for _ in inputs]
    with torch.no_grad():
        return torch.stack([s.pred_feature for s in model.predict(inputs, samples)])


@pytest.mark.parametrize('name', [
    'agw',
    # the same wrapper path (MCLNet is an AGW); a few seconds each
    pytest.param('mclnet', marks=pytest.mark.slow),
    pytest.param('fmcnet', marks=pytest.mark.slow),
])
def test_export_both_modalities_and_match_pytorch(name, tmp_path):
    base, overrides = MODELS[name]
    config = tmp_path / f'tiny_{name}.py'
    config.write_text(f"_base_ = [{str(ROOT / 'configs' / base)!r}]\n{overrides}\n{PIPELINE}")
    model = init_model(str(config))
    with torch.no_grad():  # the stems start equal: make the modalities differ
        model.backbone.infrared.conv1.weight.mul_(-1)
    checkpoint = tmp_path / 'tiny.pth'
    torch.save({'state_dict': model.state_dict()}, checkpoint)

    diffs = load_tool().main([str(config), str(checkpoint), '--out-dir', str(tmp_path / 'onnx'),
                              '--atol', '1e-4'])
    assert all(diff <= 1e-4 for diff in diffs.values())

    inputs = torch.randn(5, 3, 64, 32, generator=torch.Generator().manual_seed(1))
    outputs = {}
    for modality, suffix in ((0, 'visible'), (1, 'infrared')):
        path = tmp_path / 'onnx' / f'tiny_{name}_{suffix}.onnx'
        graph = onnx.load(str(path)).graph
        dims = graph.input[0].type.tensor_type.shape.dim
        assert dims[0].dim_param == 'batch'  # dynamic batch axis
        assert [d.dim_value for d in dims[1:]] == [3, 64, 32]
        feature = graph.output[0].type.tensor_type.shape.dim
        # the width is a number in the file, the batch the input's
        width = predict(model, inputs[:1], modality).shape[1]
        assert feature[0].dim_param == 'batch' and feature[1].dim_value == width
        session = onnxruntime.InferenceSession(str(path), providers=['CPUExecutionProvider'])
        for batch in (1, 5):
            (got, ) = session.run(None, {'input': inputs[:batch].numpy()})
            expected = predict(model, inputs[:batch], modality)
            torch.testing.assert_close(torch.from_numpy(got), expected, atol=1e-4, rtol=0)
        outputs[modality] = torch.from_numpy(got)
    torch.testing.assert_close(outputs[0].norm(dim=1), torch.ones(5))
    assert (outputs[0] - outputs[1]).abs().max() > 1e-3  # each file fixes its own branch


def test_image_size_comes_from_the_test_resize():
    from mmengine.config import Config
    tool = load_tool()
    cfg = Config.fromfile(ROOT / 'configs' / 'agw' / 'agw_r50_sysu.py')
    assert tool.config_image_size(cfg) == (288, 144)
