"""Generate the procedural synthetic VI-ReID data (SYSU-MM01, RegDB and LLCM layouts).

Example::

    python tools/dataset_converters/make_synthetic.py data/synthetic \
        --montage docs/synthetic_montage.png --montage-ids 5
"""
import argparse

from vireid.datasets.synthetic import make_synthetic, save_montage
from vireid.datasets.synthetic.generator import DEFAULT_NUM_IDS, TREES
from vireid.datasets.synthetic.summary import format_summary, summarize


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('out_dir', help='folder that receives SYSU-MM01/, RegDB/ and LLCM/')
    parser.add_argument('--num-ids', type=int, default=DEFAULT_NUM_IDS,
                        help='identities per dataset (the *_synthetic configs are sized for the default)')
    parser.add_argument('--seed', type=int, default=0, help='generator seed (same seed, same bytes)')
    parser.add_argument('--img-size', type=int, nargs=2, default=(128, 64), metavar=('H', 'W'),
                        help='image height and width in pixels')
    parser.add_argument('--datasets', nargs='+', choices=sorted(TREES), default=list(TREES),
                        help='layouts to write (default: all three)')
    parser.add_argument('--montage', metavar='PNG', help='also write a visible/infrared montage here')
    parser.add_argument('--montage-ids', type=int, default=6, help='identities shown in the montage')
    parser.add_argument('--no-progress', action='store_true', help='do not show a progress bar')
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.montage and 'sysu' not in args.datasets:
        raise SystemExit('--montage shows SYSU-MM01 identities: add sysu to --datasets')
    roots = make_synthetic(args.out_dir, num_ids=args.num_ids, seed=args.seed,
                           progress=not args.no_progress, img_size=tuple(args.img_size),
                           datasets=args.datasets)
    print(format_summary(roots, summarize(roots)))
    if args.montage:
        print(f'montage: {save_montage(roots["sysu"], args.montage, args.montage_ids)}')


if __name__ == '__main__':
    main()
