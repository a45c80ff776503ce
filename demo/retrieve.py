"""Rank a gallery for query images and draw the top matches.

    python demo/retrieve.py QUERY_IMAGE [QUERY_IMAGE ...] GALLERY_DIR \\
        --config CONFIG --checkpoint CHECKPOINT --out grid.png [--topk 10]

With no images, it runs on the synthetic SYSU-MM01 tree (generated when
missing): a few infrared queries of the test identities against their RGB
gallery. Paths laid out like SYSU-MM01 (``camX/<pid>/...``) give the
identities, so matches are framed green / red; other paths get grey frames.
"""
import argparse
import os
import os.path as osp
import re
import sys
from typing import List, Optional

from vireid.apis import init_model, retrieve
from vireid.datasets.base_vireid_dataset import IMAGE_EXTENSIONS
from vireid.datasets.split_files import read_id_list
from vireid.structures import INFRARED, VISIBLE
from vireid.visualization.ranked_list import RankedItem, draw_ranked_lists

MODALITIES = {'vis': VISIBLE, 'ir': INFRARED}
SYSU_IR_CAMERAS = (3, 6)
SYSU_RGB_CAMERAS = (1, 2, 4, 5)
DEFAULT_DATA_ROOT = 'data/synthetic/SYSU-MM01'
_SYSU_PATH = re.compile(r'(?:^|[\\/])cam\d+[\\/](\d+)[\\/][^\\/]+$')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='\n'.join(__doc__.splitlines()[1:]).strip('\n'))
    parser.add_argument('images', nargs='*', metavar='QUERY_IMAGE(S) GALLERY_DIR',
                        help='query image files, then the gallery folder '
                        '(searched recursively); none: the synthetic demo')
    parser.add_argument('--config', required=True, help='model config file')
    parser.add_argument('--checkpoint', help='model weights (without: untrained)')
    parser.add_argument('--out', default='retrieval.png', help='output picture')
    parser.add_argument('--topk', type=int, default=10, help='matches per query')
    parser.add_argument('--query-modality', choices=tuple(MODALITIES), default='ir',
                        help='modality of the queries; the gallery has the other')
    parser.add_argument('--data-root', default=DEFAULT_DATA_ROOT,
                        help='SYSU-MM01-layout tree of the synthetic demo')
    parser.add_argument('--num-queries', type=int, default=4,
                        help='queries of the synthetic demo (one per test id)')
    parser.add_argument('--rerank', action='store_true',
                        help='k-reciprocal re-ranking (k1 20, k2 6, lambda 0.3)')
    parser.add_argument('--device', default='cpu', help="'cpu', 'cuda', ...")
    args = parser.parse_args(argv)
    if len(args.images) == 1:
        parser.error('give query images AND a gallery folder (or neither, for the '
                     'synthetic demo)')
    if args.topk < 1:
        parser.error(f'--topk must be positive, got {args.topk}')
    return args


def sysu_pid(path: str) -> Optional[int]:
    """The identity of a ``.../camX/<pid>/<file>`` path, else None."""
    found = _SYSU_PATH.search(path)
    return int(found.group(1)) if found else None


def list_gallery(folder: str) -> List[str]:
    if not osp.isdir(folder):
        raise FileNotFoundError(f'gallery folder not found: {folder}')
    paths = sorted(
        osp.join(root, name) for root, _, names in os.walk(folder) for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS))
    if not paths:
        raise ValueError(f'no images ({", ".join(IMAGE_EXTENSIONS)}) under {folder}')
    return paths


def _camera_images(root: str, cameras, pid: int) -> List[str]:
    paths = []
    for cam in cameras:
        folder = osp.join(root, f'cam{cam}', f'{pid:04d}')
        if osp.isdir(folder):
            paths += [osp.join(folder, n) for n in sorted(os.listdir(folder))
                      if n.lower().endswith(IMAGE_EXTENSIONS)]
    return paths


def synthetic_split(root: str, query_modality: int, num_queries: int):
    """Queries: the first image of each of the first test ids in the query
    modality's cameras; gallery: every test-id image of the other modality."""
    if not osp.isdir(root):
        if osp.normpath(root) != osp.normpath(DEFAULT_DATA_ROOT):
            raise FileNotFoundError(f'--data-root {root} does not exist')
        from vireid.datasets.synthetic import make_synthetic
        print(f'generating the synthetic dataset under {osp.dirname(root)} ...')
        make_synthetic(osp.dirname(root), progress=True)
    test_ids = read_id_list(osp.join(root, 'exp', 'test_id.txt'))
    query_cams, gallery_cams = SYSU_IR_CAMERAS, SYSU_RGB_CAMERAS
    if query_modality == VISIBLE:
        query_cams, gallery_cams = gallery_cams, query_cams
    queries = []
    for pid in test_ids:
        images = _camera_images(root, query_cams, pid)
        if images:
            queries.append(images[0])
        if len(queries) == num_queries:
            break
    gallery = [p for pid in test_ids for p in _camera_images(root, gallery_cams, pid)]
    if not queries or not gallery:
        raise ValueError(f'{root}: no test-id images in cameras {query_cams} / '
                         f'{gallery_cams}')
    return queries, gallery


def main(argv=None):
    args = parse_args(argv)
    query_modality = MODALITIES[args.query_modality]
    gallery_modality = 1 - query_modality
    if args.images:
        queries, gallery = args.images[:-1], list_gallery(args.images[-1])
        for path in queries:
            if not osp.isfile(path):
                raise FileNotFoundError(f'query image not found: {path}')
    else:
        queries, gallery = synthetic_split(args.data_root, query_modality,
                                           args.num_queries)
    if not args.checkpoint:
        print('no --checkpoint: ranking with an untrained model', file=sys.stderr)
    model = init_model(args.config, args.checkpoint, device=args.device)
    ranked = retrieve(model, (queries, query_modality), (gallery, gallery_modality),
                      topk=args.topk, rerank=args.rerank)
    draw_ranked_lists(
        [RankedItem(q, sysu_pid(q), query_modality) for q in queries],
        [[RankedItem(m.path, sysu_pid(m.path), gallery_modality, m.distance)
          for m in matches] for matches in ranked],
        args.out)
    for query, matches in zip(queries, ranked):
        pid = sysu_pid(query)
        hits = sum(sysu_pid(m.path) == pid for m in matches) if pid is not None else '?'
        print(f'{query}: top-{args.topk} holds {hits} of its identity; best '
              f'{matches[0].path} ({matches[0].distance:.4f})')
    print(f'ranked lists written to {args.out}')


if __name__ == '__main__':
    main()
