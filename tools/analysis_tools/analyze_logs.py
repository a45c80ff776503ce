"""Curves and training time from MMEngine's scalar logs.

``python tools/analysis_tools/analyze_logs.py plot_curve A.json B.json --keys loss mAP --out curves.png``
``python tools/analysis_tools/analyze_logs.py cal_train_time A.json``

The logs are ``<work_dir>/<timestamp>/vis_data/<timestamp>.json`` (or
``scalars.json`` beside it); several runs are overlaid, one panel per key.
"""
import argparse
import os.path as osp

from vireid.visualization.log_curves import (load_scalar_log, plot_log_curves,
                                             train_time_summary)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Analyse MMEngine json logs')
    tasks = parser.add_subparsers(dest='task', required=True)
    plot = tasks.add_parser('plot_curve', help='loss / metric curves, several runs overlaid')
    plot.add_argument('logs', nargs='+', metavar='LOG.json')
    plot.add_argument('--keys', nargs='+', default=['loss'],
                      help="scalars to plot, e.g. loss lr R1 mAP 'sysu/all-single/mINP'")
    plot.add_argument('--legend', nargs='+', help='one label per log (default: its run folder)')
    plot.add_argument('--out', required=True, help='image to write (.png, .pdf, .svg)')
    timing = tasks.add_parser('cal_train_time', help='seconds per iteration of each run')
    timing.add_argument('logs', nargs='+', metavar='LOG.json')
    args = parser.parse_args(argv)
    if getattr(args, 'legend', None) and len(args.legend) != len(args.logs):
        parser.error(f'{len(args.legend)} legend labels for {len(args.logs)} logs')
    return args


def run_label(path):
    # <work_dir>/<timestamp>/vis_data/x.json: the work dir names the run
    parts = osp.normpath(osp.abspath(path)).split(osp.sep)
    return parts[-4] if len(parts) >= 4 and parts[-2] == 'vis_data' else osp.basename(path)


def main(argv=None):
    args = parse_args(argv)
    if args.task == 'plot_curve':
        labels = args.legend or [run_label(p) for p in args.logs]
        if len(set(labels)) < len(labels):  # same work dir name: keep runs apart
            labels = [f'{label} ({i})' for i, label in enumerate(labels)]
        logs = {label: load_scalar_log(p) for label, p in zip(labels, args.logs)}
        plot_log_curves(logs, args.keys, args.out)
        print(f'curves of {", ".join(args.keys)} written to {args.out}')
        return
    for path in args.logs:
        s = train_time_summary(load_scalar_log(path))
        print(f'{"-" * 10} {path}\n'
              f'iterations logged up to {s["last_iter"]} ({s["num_records"]} records)\n'
              f'average time per iteration: {s["mean_s_per_iter"]:.4f} s '
              f'(std {s["std_s_per_iter"]:.4f})\n'
              f'slowest epoch {s["slowest_epoch"]}: {s["slowest_epoch_s_per_iter"]:.4f} s/iter\n'
              f'fastest epoch {s["fastest_epoch"]}: {s["fastest_epoch_s_per_iter"]:.4f} s/iter')


if __name__ == '__main__':
    main()
