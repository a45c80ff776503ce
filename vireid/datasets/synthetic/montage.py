"""A picture of the synthetic data: visible / infrared pairs of a few identities."""
from pathlib import Path

import cv2
import numpy as np

# (visible cameras, infrared cameras) in order of preference, one row each
_ROWS = (((1, 2, 4, 5), (3, 6)), ((4, 5, 2, 1), (6, 3)))


def _first_image(root, cam, pid):
    folder = Path(root) / f'cam{cam}' / f'{pid:04d}'
    files = sorted(folder.glob('*.jpg')) if folder.is_dir() else []
    return (cv2.imread(str(files[0]), cv2.IMREAD_COLOR), cam) if files else None


def _pick(root, pid, cams, avoid):
    found = [hit for cam in cams if (hit := _first_image(root, cam, pid)) is not None]
    fresh = [hit for hit in found if hit[1] not in avoid]
    return (fresh or found or [None])[0]


def _label(tile, text):
    cv2.putText(tile, text, (2, tile.shape[0] - 4), cv2.FONT_HERSHEY_PLAIN, 0.7, (255, 255, 255), 1,
                cv2.LINE_AA)
    return tile


def save_montage(sysu_root, out_png, num_ids=6):
    """Write ``out_png``: for the first ``num_ids`` identities of a SYSU-MM01
    layout tree, a column pair (visible | infrared) per identity and a row per
    camera pair (indoor first, then another pair where the identity has one).
    Returns the path written."""
    sysu_root = Path(sysu_root)
    pids = sorted({int(p.name) for p in sysu_root.glob('cam*/*') if p.is_dir() and p.name.isdigit()})
    if not pids:
        raise FileNotFoundError(f'no cam*/<pid> folders under {sysu_root}')
    columns = []
    for pid in pids[:num_ids]:
        used, cells = set(), []
        for rgb_cams, ir_cams in _ROWS:
            pair = [_pick(sysu_root, pid, rgb_cams, used), _pick(sysu_root, pid, ir_cams, used)]
            used |= {hit[1] for hit in pair if hit is not None}
            cells.append(pair)
        shape = next(hit[0].shape for pair in cells for hit in pair if hit is not None)
        rows = []
        for pair in cells:
            tiles = [_label(hit[0].copy(), f'c{hit[1]}') if hit else np.zeros(shape, np.uint8)
                     for hit in pair]
            rows.append(np.concatenate(tiles, axis=1))
        head = np.full((14, 2 * shape[1], 3), 32, np.uint8)
        cv2.putText(head, f'id {pid}', (3, 11), cv2.FONT_HERSHEY_PLAIN, 0.8, (255, 255, 255), 1, cv2.LINE_AA)
        columns.append(np.concatenate([head] + rows, axis=0))
        columns.append(np.full((columns[-1].shape[0], 4, 3), 255, np.uint8))
    out_png = Path(out_png)
    out_png.parent.mkdir(parents=True, exist_ok=True)
    if not cv2.imwrite(str(out_png), np.concatenate(columns[:-1], axis=1), [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f'could not write {out_png}')
    return out_png
