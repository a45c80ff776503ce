"""Evaluate a checkpoint with every protocol of its dataset and print the table.

``python tools/test.py CONFIG CHECKPOINT`` or ``python tools/test.py CONFIG --checkpoint CHECKPOINT``;
``--untrained`` evaluates the model as built, without weights (a chance-level reference).
"""
import argparse
import os
import os.path as osp

from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.runner import Runner

from vireid.engine import describe_mismatch, set_trust_checkpoints
from vireid.evaluation.metrics import RESULTS_SUFFIXES, dump_results, format_protocol_table
from vireid.models.utils import unwrap
from vireid.utils import register_all_modules
from vireid.utils.launch import apply_common_args


def parse_args():
    parser = argparse.ArgumentParser(description='Test a VI-ReID model')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint_pos', nargs='?', metavar='CHECKPOINT', help='checkpoint file')
    parser.add_argument('--checkpoint', help='checkpoint file (same as the positional form)')
    parser.add_argument('--untrained', action='store_true',
                        help='evaluate the freshly built model (no checkpoint)')
    parser.add_argument('--work-dir', help='the directory to save logs')
    parser.add_argument('--out', help='write the metrics to this .json or .csv file')
    parser.add_argument('--dump', metavar='RESULTS.npz',
                        help='write every test feature and label to this .npz file for '
                        'tools/analysis_tools (ranked lists, t-SNE, CMC curves)')
    parser.add_argument('--trust-checkpoint', action='store_true',
                        help='allow a checkpoint that holds more than weights (unpickles '
                        'arbitrary objects: only for files you trust)')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config keys, e.g. test_evaluator.num_trials=1')
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    if args.checkpoint and args.checkpoint_pos and args.checkpoint != args.checkpoint_pos:
        parser.error('two different checkpoints given')
    args.checkpoint = args.checkpoint or args.checkpoint_pos
    if args.dump and osp.splitext(args.dump)[1].lower() != '.npz':
        parser.error(f'--dump {args.dump}: the file must end in .npz (plain arrays, no pickle)')
    if args.out and osp.splitext(args.out)[1].lower() not in RESULTS_SUFFIXES:
        # checked before the evaluation, which on SYSU-MM01 takes minutes
        parser.error(f'--out {args.out}: the file must end in .json or .csv')
    if not args.checkpoint and not args.untrained:
        parser.error('give a CHECKPOINT, or --untrained to evaluate without weights')
    if args.checkpoint and args.untrained:
        parser.error(f'--untrained evaluates without weights: drop it, or the checkpoint '
                     f'{args.checkpoint}')
    if args.checkpoint and not osp.isfile(args.checkpoint):
        parser.error(f'checkpoint not found: {args.checkpoint}')
    return args


def request_dump(cfg, path):
    """Have the test evaluator's VIReIDMetric write its cached features to ``path``."""
    evaluator = cfg.get('test_evaluator')
    metrics = evaluator if isinstance(evaluator, (list, tuple)) else [evaluator]
    def name(metric):
        kind = metric.get('type', '')
        return getattr(kind, '__name__', str(kind)).split('.')[-1]

    metrics = [m for m in metrics if isinstance(m, dict) and name(m) == 'VIReIDMetric']
    if not metrics:
        raise ValueError(f'--dump needs a VIReIDMetric in test_evaluator, got {evaluator}')
    metrics[0]['dump_path'] = path


def main():
    args = parse_args()
    register_all_modules()
    cfg = Config.fromfile(args.config)
    apply_common_args(cfg, args)
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or osp.join(
        './work_dirs', osp.splitext(osp.basename(args.config))[0])
    cfg.load_from, cfg.resume = None, False
    set_trust_checkpoints(args.trust_checkpoint)
    if args.dump:
        request_dump(cfg, args.dump)

    runner = Runner.from_cfg(cfg)
    if args.checkpoint:
        # strict: a checkpoint of another model must fail loudly, naming the keys
        try:
            runner.load_checkpoint(args.checkpoint, map_location='cpu', strict=True)
        except RuntimeError as err:
            # MMEngine's load_state_dict (mmengine/runner/checkpoint.py) raises this text on
            # a strict mismatch; other RuntimeErrors (an unreadable file) pass unchanged
            if 'do not match' not in str(err):
                raise
            raise RuntimeError(describe_mismatch(args.checkpoint, unwrap(runner.model))) from err
    metrics = runner.test()

    if is_main_process():
        title = 'untrained model' if args.untrained else args.checkpoint
        print(f'\nResults of {title}')
        print(format_protocol_table(metrics))
        if args.out:
            dump_results(metrics, args.out)
            print(f'metrics written to {args.out}')
        if args.dump:
            print(f'features and labels written to {args.dump}')


if __name__ == '__main__':
    main()
