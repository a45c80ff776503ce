"""Best and worst queries (by AP) with their top-k gallery images.

``python tools/analysis_tools/vis_ranked_list.py results.npz --out ranked.png --mode all-single --num 4 --topk 10``

``results.npz`` is a ``tools/test.py --dump`` file. The gallery is the
trial's (``--trial``), drawn and ranked by the protocol's own rules (SYSU's
camera-2 removal for camera-3 queries, LLCM's same-camera removal), so each
row's AP is the one the metric averaged. Green frame: same identity, red:
another, blue: the query; the first ``--num`` rows are the best queries,
the next ones the worst. ``--csv`` lists the rows with their APs.
"""
import argparse
import csv
import os
import os.path as osp

import numpy as np

from vireid.evaluation.results_dump import load_reid_results
from vireid.visualization.protocol_views import (check_mode, per_query_ap, ranked_gallery,
                                                 trial_view)
from vireid.visualization.ranked_list import RankedItem, draw_ranked_lists


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='Best and worst ranked lists of a result dump')
    parser.add_argument('dump', metavar='DUMP', help='tools/test.py --dump file (.npz)')
    parser.add_argument('--out', required=True, help='image to write (.png, .jpg)')
    parser.add_argument('--mode', help="protocol mode, e.g. 'all-single', 'vis2ir' "
                        "(default: the protocol's headline mode)")
    parser.add_argument('--num', type=int, default=4, help='best and worst queries each (default 4)')
    parser.add_argument('--topk', type=int, default=10, help='gallery images per row (default 10)')
    parser.add_argument('--trial', type=int, default=0, help='gallery trial (default 0)')
    parser.add_argument('--cell', type=int, nargs=2, default=(128, 64), metavar=('H', 'W'),
                        help='size of each image in the picture (default 128 64)')
    parser.add_argument('--csv', help='also write the rows (query, AP, ranked paths) here')
    args = parser.parse_args(argv)
    if args.num < 1 or args.topk < 1:
        parser.error('--num and --topk must be >= 1')
    return args


def pick_queries(ap, num):
    """Rows of the ``num`` best then the ``num`` worst queries (AP; ties by
    query order); queries with no true match left are skipped."""
    valid = np.flatnonzero(~np.isnan(ap))
    by_ap = valid[np.argsort(-ap[valid], kind='stable')]
    best = by_ap[:num]
    worst = [q for q in valid[np.argsort(ap[valid], kind='stable')] if q not in best][:num]
    return [(q, 'best') for q in best] + [(q, 'worst') for q in worst]


def write_csv(path, table):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['group', 'query', 'query_pid', 'AP', 'rank', 'gallery', 'gallery_pid',
                         'distance', 'match'])
        writer.writerows(table)


def main(argv=None):
    args = parse_args(argv)
    results = load_reid_results(args.dump)
    mode = check_mode(results, args.mode)
    view = trial_view(results, mode, args.trial)
    ap = per_query_ap(results, view)
    queries, lists, table = [], [], []
    for row, group in pick_queries(ap, args.num):
        q = view.query[row]
        ranked, dists = ranked_gallery(results, view, row, args.topk)
        matches = results.pid[ranked] == results.pid[q]
        queries.append(RankedItem(results.img_path[q], int(results.pid[q]),
                                  int(results.modality[q])))
        lists.append([RankedItem(results.img_path[g], int(results.pid[g]),
                                 int(results.modality[g]), float(d))
                      for g, d in zip(ranked, dists)])
        table += [(group, results.img_path[q], results.pid[q], f'{ap[row] * 100:.4f}', k + 1,
                   results.img_path[g], results.pid[g], f'{d:.6f}', int(m))
                  for k, (g, d, m) in enumerate(zip(ranked, dists, matches))]
    if not queries:
        raise ValueError(f'{args.dump}: no query of {mode} has a true match in trial {args.trial}')
    draw_ranked_lists(queries, lists, args.out, cell_hw=tuple(args.cell))
    print(f'{results.protocol} {mode}, trial {args.trial}: {len(queries)} queries '
          f'(mean AP of all {np.count_nonzero(~np.isnan(ap))}: {np.nanmean(ap) * 100:.2f}); '
          f'picture written to {args.out}')
    if args.csv:
        write_csv(args.csv, table)
        print(f'rows written to {args.csv}')


if __name__ == '__main__':
    main()
