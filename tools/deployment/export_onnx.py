"""Export a model's test-feature graph to ONNX, one file per modality, and check it.

    python tools/deployment/export_onnx.py CONFIG CHECKPOINT [--out-dir DIR] \\
        [--img-size H W] [--opset 17] [--atol 1e-4]

Writes ``<config>_visible.onnx`` and ``<config>_infrared.onnx``: input
``input``, float ``[batch, 3, H, W]`` already normalised (RGB, ImageNet mean
and std, as the model's data preprocessor makes it); output ``feature``,
float ``[batch, C]``, the L2-normalised test feature. The batch axis is
dynamic. Each file is then run with ONNX Runtime on a batch of another size
and compared with the PyTorch model's own ``predict``: the largest absolute
difference is printed and must stay within ``--atol`` (default 1e-4 on unit
vectors). Needs ``pip install onnx onnxruntime`` (requirements/optional.txt).
"""
import argparse
import os
import os.path as osp
import sys
import warnings

import torch
from mmengine.config import DictAction

from vireid.apis import init_model
from vireid.apis.deploy import BRANCHES, FixedModalityEncoder
from vireid.apis.inference import _test_pipeline_cfg
from vireid.structures import ReIDDataSample

EXPORT_BATCH, CHECK_BATCH = 2, 3


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]).strip('\n'))
    parser.add_argument('config', help='model config file')
    parser.add_argument('checkpoint', help='model weights')
    parser.add_argument('--out-dir', default='work_dirs/onnx', help='folder for the .onnx files')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'),
                        help="input size (default: the config's test resize)")
    parser.add_argument('--opset', type=int, default=17, help='ONNX opset version')
    parser.add_argument('--atol', type=float, default=1e-4,
                        help='largest accepted |ONNX Runtime - PyTorch| per feature value')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. model.flip_test=True')
    return parser.parse_args(argv)


def config_image_size(cfg):
    """(H, W) of the test pipeline's ``Resize`` (its ``scale`` is (w, h))."""
    for step in _test_pipeline_cfg(cfg):
        if step.get('type') == 'Resize' and step.get('scale'):
            width, height = step['scale']
            return int(height), int(width)
    raise ValueError(f'{cfg.filename}: no Resize with a scale in the test pipeline; '
                     'pass --img-size H W')


def export(model, modality: int, path: str, img_size, opset: int) -> None:
    encoder = FixedModalityEncoder(model, modality).eval()
    dummy = torch.randn(EXPORT_BATCH, 3, *img_size)
    with warnings.catch_warnings():
        # the TorchScript-based exporter is deprecated in favour of the
        # dynamo one, which needs onnxscript; this graph exports cleanly here
        warnings.simplefilter('ignore', DeprecationWarning)
        torch.onnx.export(
            encoder, (dummy, ), path, dynamo=False, opset_version=opset,
            input_names=['input'], output_names=['feature'],
            dynamic_axes={'input': {0: 'batch'}, 'feature': {0: 'batch'}},
            do_constant_folding=True)
        with torch.no_grad():
            width = encoder(dummy).shape[1]
    fix_feature_width(path, width)


def fix_feature_width(path: str, width: int) -> None:
    """Record the output's feature width as a number.

    The exporter's shape inference leaves it symbolic (``Divfeature_dim_1``,
    after the L2 normalisation's division), so a consumer reading the file
    would not know the width without running it.
    """
    import onnx
    model = onnx.load(path)
    dim = model.graph.output[0].type.tensor_type.shape.dim[1]
    dim.Clear()
    dim.dim_value = width
    onnx.save(model, path)


def max_difference(model, modality: int, path: str, img_size) -> float:
    """Largest |ONNX Runtime - model.predict| on a random batch of CHECK_BATCH."""
    import onnx
    import onnxruntime
    onnx.checker.check_model(path)
    inputs = torch.randn(CHECK_BATCH, 3, *img_size, generator=torch.Generator().manual_seed(0))
    samples = [ReIDDataSample(metainfo=dict(modality=modality)) for _ in range(CHECK_BATCH)]
    with torch.no_grad():
        expected = torch.stack([s.pred_feature for s in model.predict(inputs, samples)])
    session = onnxruntime.InferenceSession(path, providers=['CPUExecutionProvider'])
    (got, ) = session.run(['feature'], {'input': inputs.numpy()})
    if got.shape != tuple(expected.shape):
        raise RuntimeError(f'{path}: output shape {got.shape}, PyTorch gives '
                           f'{tuple(expected.shape)}')
    return float((torch.from_numpy(got) - expected).abs().max())


def main(argv=None):
    args = parse_args(argv)
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError as err:
        sys.exit(f'{err}: pip install onnx onnxruntime (requirements/optional.txt)')
    if not osp.isfile(args.checkpoint):
        sys.exit(f'checkpoint not found: {args.checkpoint}')
    model = init_model(args.config, args.checkpoint, device='cpu',
                       cfg_options=args.cfg_options)
    img_size = tuple(args.img_size) if args.img_size else config_image_size(model.cfg)
    os.makedirs(args.out_dir, exist_ok=True)
    stem = osp.splitext(osp.basename(args.config))[0]
    results = {}
    for modality, name in BRANCHES.items():
        path = osp.join(args.out_dir, f'{stem}_{name}.onnx')
        export(model, modality, path, img_size, args.opset)
        diff = max_difference(model, modality, path, img_size)
        ok = diff <= args.atol
        print(f'{path}: input [batch, 3, {img_size[0]}, {img_size[1]}], max |ONNX Runtime - '
              f'PyTorch| = {diff:.3g} ({"within" if ok else "ABOVE"} atol {args.atol:g})')
        results[path] = diff
    worst = max(results.values())
    if worst > args.atol:
        sys.exit(f'ONNX Runtime differs from PyTorch by {worst:.3g} > atol {args.atol:g}')
    return results


if __name__ == '__main__':
    main()
