"""Train a vireid model: ``python tools/train.py CONFIG [--work-dir DIR] [--resume [auto|CKPT]] [--amp] ...``."""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.runner import Runner

from vireid.engine import find_resumable_checkpoint, set_trust_checkpoints
from vireid.utils import register_all_modules
from vireid.utils.launch import apply_common_args


def parse_args():
    parser = argparse.ArgumentParser(description='Train a VI-ReID model')
    parser.add_argument('config', help='train config file path')
    parser.add_argument('--work-dir', help='the dir to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from the given checkpoint, or with no value (or "auto") '
        'from the newest checkpoint in the work dir')
    parser.add_argument('--amp', action='store_true',
                        help='mixed precision (bf16 autocast) for every optimizer')
    parser.add_argument('--fast', action='store_true',
                        help='the *_packed configs\' path for any config: images from '
                        'DATA_ROOT/packed_HxW[_BACKEND_INTERPOLATION].npy (tools/dataset_converters/pack_images.py '
                        'CONFIG writes it), random transforms on the GPU, channels-last, '
                        'CUDA graphs; with --amp for mixed precision')
    parser.add_argument('--amp-dtype', default='bfloat16', choices=['bfloat16', 'float16'],
                        help='with --amp: bfloat16 (no loss scale) or float16 (a dynamic '
                        'loss scale on the device; cuDNN batch norm, faster on GPUs)')
    parser.add_argument('--auto-scale-lr', action='store_true',
                        help='scale lr by the total batch size / auto_scale_lr.base_batch_size')
    parser.add_argument('--no-validate', action='store_true',
                        help='skip the periodic evaluation during training')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow --resume / load_from files that hold more than weights '
                        '(unpickles arbitrary objects: only for files you trust)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. train_cfg.max_epochs=5')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.resume not in (None, 'auto') and '://' not in args.resume and not osp.isfile(
            args.resume):  # a URL goes to MMEngine's file backends
        parser.error(f'--resume {args.resume}: checkpoint not found')
    return args


def main():
    args = parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    apply_common_args(cfg, args)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])

    if args.resume == 'auto':
        # the newest complete checkpoint, whatever `last_checkpoint` says
        checkpoint = find_resumable_checkpoint(cfg.work_dir)
        if checkpoint is None:
            # MMEngine would log 'Auto resumed from the latest checkpoint None.'
            print(f'--resume: no checkpoint in {cfg.work_dir} yet; training from the start')
        cfg.resume, cfg.load_from = checkpoint is not None, checkpoint or cfg.get('load_from')
    elif args.resume is not None:
        cfg.resume, cfg.load_from = True, args.resume
    if args.auto_scale_lr:
        cfg.setdefault('auto_scale_lr', dict(base_batch_size=64))
        cfg.auto_scale_lr.enable = True
    if args.no_validate:
        cfg.val_cfg = cfg.val_dataloader = cfg.val_evaluator = None
    set_trust_checkpoints(args.trust_checkpoint)

    runner = Runner.from_cfg(cfg)
    runner.train()


if __name__ == '__main__':
    main()
