"""Tiny dataset trees in the real on-disk layouts, written per test.

The session-wide synthetic tree (``synthetic_root``) is shared and must not
be modified; these small trees are what the bad-input tests break.
"""
from pathlib import Path

import cv2
import numpy as np
import pytest


def write_image(path: Path, value: int, gray: bool = False,
                size=(16, 8)) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    shape = size if gray else size + (3, )
    img = np.full(shape, value, np.uint8)
    img[::2] = 255 - value  # not flat, so flips/crops are observable
    assert cv2.imwrite(str(path), img), path


SYSU_IDS = dict(train=(1, 2, 3, 5), val=(6, ), test=(7, 8))
# (pid, camera) pairs without images, as in the real data
SYSU_ABSENT = {(2, 4), (7, 2), (8, 6)}


def make_tiny_sysu(root: Path, per_camera: int = 2) -> Path:
    for cam in range(1, 7):
        (root / f'cam{cam}').mkdir(parents=True, exist_ok=True)
        for pid in sum(SYSU_IDS.values(), ()):
            if (pid, cam) in SYSU_ABSENT:
                continue
            for n in range(1, per_camera + 1):
                write_image(root / f'cam{cam}' / f'{pid:04d}' / f'{n:04d}.jpg',
                            value=10 * pid + cam, gray=cam in (3, 6))
    (root / 'exp').mkdir(exist_ok=True)
    for split, ids in SYSU_IDS.items():
        (root / 'exp' / f'{split}_id.txt').write_text(
            ','.join(map(str, ids)) + '\n')
    return root


REGDB_PIDS = (1, 2, 3, 4, 5, 6)
REGDB_TRIAL_TRAIN = {1: (1, 2, 3), 2: (4, 5, 6)}


def regdb_label(pid: int) -> int:
    return 10 * pid  # not contiguous, so relabelling is observable


def make_tiny_regdb(root: Path, per_modality: int = 3) -> Path:
    for pid in REGDB_PIDS:
        for n in range(per_modality):
            write_image(root / 'Visible' / str(pid) / f'v_{pid}_{n}.bmp',
                        value=5 * pid)
            write_image(root / 'Thermal' / str(pid) / f't_{pid}_{n}.bmp',
                        value=5 * pid, gray=True)
    (root / 'idx').mkdir(exist_ok=True)
    for trial, train_pids in REGDB_TRIAL_TRAIN.items():
        splits = dict(train=train_pids,
                      test=tuple(p for p in REGDB_PIDS if p not in train_pids))
        for split, pids in splits.items():
            for modality, top, prefix in (('visible', 'Visible', 'v'),
                                          ('thermal', 'Thermal', 't')):
                lines = [
                    f'{top}/{pid}/{prefix}_{pid}_{n}.bmp {regdb_label(pid)}'
                    for pid in pids for n in range(per_modality)
                ]
                (root / 'idx' / f'{split}_{modality}_{trial}.txt').write_text(
                    '\n'.join(lines) + '\n')
    return root


LLCM_TRAIN = {  # modality folder -> {pid: cameras}
    'train_vis': {1: (1, 3), 2: (2, ), 3: (4, 9)},
    'train_nir': {1: (2, ), 2: (1, 5), 3: (4, )},
}
LLCM_TEST = {
    'test_vis': {11: (1, 9), 12: (3, )},
    'test_nir': {11: (2, ), 12: (4, 8)},
}
LLCM_TEST_CAMS = {
    'test_vis': range(1, 10),
    'test_nir': (1, 2, 4, 5, 6, 7, 8, 9)
}


def make_tiny_llcm(root: Path, per_camera: int = 2) -> Path:
    (root / 'idx').mkdir(parents=True, exist_ok=True)
    for top, ids in LLCM_TRAIN.items():
        lines = []
        for pid, cams in ids.items():
            for cam in cams:
                for n in range(per_camera):
                    rel = f'{top}/cam{cam}/{pid:04d}/{top}_{cam}_{n}.jpg'
                    write_image(root / rel, value=7 * pid, gray='nir' in top)
                    lines.append(f'{rel} {pid}')
        name = 'train_vis.txt' if top == 'train_vis' else 'train_nir.txt'
        (root / 'idx' / name).write_text('\n'.join(lines) + '\n')
    for top, ids in LLCM_TEST.items():
        for cam in LLCM_TEST_CAMS[top]:
            (root / top / f'cam{cam}').mkdir(parents=True, exist_ok=True)
        for pid, cams in ids.items():
            for cam in cams:
                for n in range(per_camera):
                    write_image(root / top / f'cam{cam}' / f'{pid:04d}' /
                                f'{n}.jpg', value=7 * pid, gray='nir' in top)
    (root / 'idx' / 'test_id.txt').write_text('11,12\n')
    return root


@pytest.fixture
def tiny_sysu(tmp_path):
    return make_tiny_sysu(tmp_path / 'SYSU-MM01')


@pytest.fixture
def tiny_regdb(tmp_path):
    return make_tiny_regdb(tmp_path / 'RegDB')


@pytest.fixture
def tiny_llcm(tmp_path):
    return make_tiny_llcm(tmp_path / 'LLCM')


@pytest.fixture(scope='session')
def synthetic_trees(synthetic_root):
    """The generator's trees: ``{'sysu', 'regdb', 'llcm': Path}``."""
    return dict(sysu=synthetic_root / 'SYSU-MM01',
                regdb=synthetic_root / 'RegDB',
                llcm=synthetic_root / 'LLCM')
