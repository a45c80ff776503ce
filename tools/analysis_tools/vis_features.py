"""t-SNE of test features: colour = identity, marker = modality.

``python tools/analysis_tools/vis_features.py results.npz --out tsne.png --num-ids 10``

Several dumps of the same test set give side-by-side panels. FMCNet's shared,
specific and generated features (its Figs. 4-5): dump once per feature with
``tools/test.py ... --dump shared.npz --cfg-options model.test_feature=shared``
(and ``specific``, ``generated``, ``fused``), then
``vis_features.py shared.npz specific.npz generated.npz --feature shared specific generated``.
Needs scikit-learn (optional dependency).
"""
import argparse
import os.path as osp

import numpy as np

from vireid.evaluation.results_dump import load_reid_results
from vireid.visualization.tsne import plot_tsne_panels, tsne_embed


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description='t-SNE of dumped test features')
    parser.add_argument('dumps', nargs='+', metavar='DUMP', help='tools/test.py --dump files (.npz)')
    parser.add_argument('--out', required=True, help='image to write (.png, .pdf, .svg)')
    parser.add_argument('--feature', nargs='+', metavar='NAME',
                        help="panel titles, one per dump: the feature each holds, e.g. FMCNet's "
                        "'shared' 'specific' 'generated' (default: file names)")
    parser.add_argument('--num-ids', type=int, default=10, help='identities shown (default 10)')
    parser.add_argument('--max-per-id', type=int, default=40,
                        help='at most this many images per identity and modality (default 40)')
    parser.add_argument('--perplexity', type=float, default=30.0, help='t-SNE perplexity')
    parser.add_argument('--seed', type=int, default=0, help='picks identities, images and t-SNE init')
    args = parser.parse_args(argv)
    if args.feature and len(args.feature) != len(args.dumps):
        parser.error(f'{len(args.feature)} --feature names for {len(args.dumps)} dumps')
    if args.num_ids < 1 or args.max_per_id < 1:
        parser.error('--num-ids and --max-per-id must be >= 1')
    return args


def choose_samples(results, num_ids, max_per_id, seed):
    """Row indices: ``num_ids`` random identities, at most ``max_per_id``
    images of each per modality."""
    rng = np.random.default_rng(seed)
    ids = np.unique(results.pid)
    ids = np.sort(rng.choice(ids, size=min(num_ids, len(ids)), replace=False))
    rows = []
    for pid in ids:
        for modality in np.unique(results.modality):
            group = np.flatnonzero((results.pid == pid) & (results.modality == modality))
            if len(group) > max_per_id:
                group = np.sort(rng.choice(group, size=max_per_id, replace=False))
            rows.append(group)
    return np.concatenate(rows)


def main(argv=None):
    args = parse_args(argv)
    titles = args.feature or [osp.splitext(osp.basename(d))[0] for d in args.dumps]
    dumps = [load_reid_results(path) for path in args.dumps]
    for path, results in zip(args.dumps[1:], dumps[1:]):
        if not np.array_equal(results.img_path, dumps[0].img_path):
            raise ValueError(f'{path} holds other test images than {args.dumps[0]}: '
                             'panels must show the same samples')
    rows = choose_samples(dumps[0], args.num_ids, args.max_per_id, args.seed)
    panels = [(title, tsne_embed(results.features[rows], args.seed, args.perplexity))
              for title, results in zip(titles, dumps)]
    plot_tsne_panels(panels, dumps[0].pid[rows], dumps[0].modality[rows], args.out)
    print(f'{len(rows)} images of {len(np.unique(dumps[0].pid[rows]))} identities; '
          f't-SNE written to {args.out}')


if __name__ == '__main__':
    main()
