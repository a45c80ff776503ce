"""Pack the train and test images of a config's dataset into one memory-mapped uint8 array.

    python tools/dataset_converters/pack_images.py configs/agw/agw_r50_sysu_packed.py
    python tools/dataset_converters/pack_images.py CONFIG --img-size 288 144 --workers 16

Writes ``DATA_ROOT/packed_{H}x{W}[_{backend}_{interpolation}].npy`` (and its
``.json`` index) unless ``--out`` says otherwise: what ``LoadReIDImageFromPack``
in the ``*_packed`` configs reads. Images are resized as the train pipeline's
``Resize`` does (or as the packed config's loader says they were).
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction

from vireid.datasets.packed_images import pack_file_name, pack_images
from vireid.registry import DATASETS
from vireid.utils import register_all_modules
from vireid.utils.fast_path import pack_settings
from vireid.utils.launch import merge_options


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', help='a config whose train_dataloader / test_dataloader '
                        'datasets name the images')
    parser.add_argument('--img-size', type=int, nargs=2, metavar=('H', 'W'),
                        help="default: the size the config's train pipeline resizes to")
    parser.add_argument('--out', help='the .npy to write (default DATA_ROOT/packed_HxW[_BACKEND_INTERPOLATION].npy)')
    parser.add_argument('--workers', type=int, default=min(16, os.cpu_count() or 1),
                        help='decoding processes')
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction)
    return parser.parse_args(argv)


def dataset_images(cfg: Config):
    """``(root, img_paths)`` of the config's train and test datasets (one root)."""
    register_all_modules()
    roots, paths = set(), []
    for key in ('train_dataloader', 'test_dataloader'):
        if key not in cfg:
            continue
        # without its pipeline, which may itself read the pack being written
        dataset = DATASETS.build({**cfg[key]['dataset'], 'pipeline': []})
        roots.add(dataset.data_root)
        paths += [dataset.get_data_info(i)['img_path'] for i in range(len(dataset))]
    if len(roots) != 1:
        raise ValueError(f'the train and test datasets of the config have the roots '
                         f'{sorted(roots)}; pack each dataset with its own config')
    return roots.pop(), paths


def default_out(cfg: Config, root: str, img_size=None) -> str:
    """``ROOT/packed_{H}x{W}[...].npy``: the file ``LoadReIDImageFromPack`` of the config reads."""
    config_size, resize = pack_settings(cfg)
    return osp.join(root, pack_file_name(img_size or config_size, **resize))


def main(argv=None):
    args = parse_args(argv)
    cfg = Config.fromfile(args.config)
    merge_options(cfg, args.cfg_options)
    config_size, resize = pack_settings(cfg)
    height, width = args.img_size or config_size
    root, paths = dataset_images(cfg)
    out = args.out or default_out(cfg, root, (height, width))
    print(f'packing {len(set(paths))} images of {root} at {height}x{width} '
          f'({resize["backend"]} {resize["interpolation"]}) into {out}')
    pack_images(paths, root, out, (height, width), workers=args.workers,
                progress=not args.no_progress, **resize)
    print(f'wrote {out} ({osp.getsize(out) / 2**20:.0f} MiB)')


if __name__ == '__main__':
    main()
