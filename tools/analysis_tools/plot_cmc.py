"""CMC curves of several ``tools/test.py --dump`` files on one plot.

``python tools/analysis_tools/plot_cmc.py a.npz b.npz --labels AGW FMCNet --out cmc.png``

Each curve is recomputed from the dump with the protocol's own gallery
sampling and ``eval_*`` function, averaged over the trials like the test
table; ``--csv`` also writes the numbers.
"""
import argparse
import csv
import os
import os.path as osp

from vireid.evaluation.results_dump import load_reid_results
from vireid.visualization.cmc_curves import plot_cmc_curves
from vireid.visualization.protocol_views import check_mode, mean_cmc


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Plot CMC curves of result dumps')
    parser.add_argument('dumps', nargs='+', metavar='DUMP', help='tools/test.py --dump files (.npz)')
    parser.add_argument('--labels', nargs='+', help='legend labels (default: file names)')
    parser.add_argument('--out', required=True, help='image to write (.png, .pdf, .svg)')
    parser.add_argument('--mode', help="protocol mode, e.g. 'all-single', 'indoor-multi', 'vis2ir' "
                        '(default: the protocol\'s headline mode)')
    parser.add_argument('--max-rank', type=int, default=20, help='last rank shown (default 20)')
    parser.add_argument('--trials', type=int, help='average over the first N trials (default: all)')
    parser.add_argument('--csv', help='also write rank-by-run CMC values (percent) here')
    args = parser.parse_args(argv)
    if args.labels and len(args.labels) != len(args.dumps):
        parser.error(f'{len(args.labels)} labels for {len(args.dumps)} dumps')
    if args.max_rank < 1:
        parser.error(f'--max-rank must be >= 1, got {args.max_rank}')
    return args


def write_csv(path, curves):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['rank'] + list(curves))
        length = max(len(c) for c in curves.values())
        for k in range(length):
            writer.writerow([k + 1] + [f'{c[k] * 100:.4f}' for c in curves.values()])


def main(argv=None):
    args = parse_args(argv)
    labels = args.labels or [osp.splitext(osp.basename(d))[0] for d in args.dumps]
    curves, modes = {}, set()
    for label, path in zip(labels, args.dumps):
        results = load_reid_results(path)
        mode = check_mode(results, args.mode)
        modes.add(f'{results.protocol} {mode}')
        scores = mean_cmc(results, mode, args.max_rank, args.trials)
        curves[label] = scores['cmc']
        print(f'{label}: {results.protocol} {mode}  R1 {scores["cmc"][0] * 100:.2f}  '
              f'mAP {scores["mAP"] * 100:.2f}  mINP {scores["mINP"] * 100:.2f}')
    plot_cmc_curves(curves, args.out, title=', '.join(sorted(modes)))
    print(f'CMC curves written to {args.out}')
    if args.csv:
        write_csv(args.csv, curves)
        print(f'CMC values written to {args.csv}')


if __name__ == '__main__':
    main()
