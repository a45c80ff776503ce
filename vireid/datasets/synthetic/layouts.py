"""On-disk layouts of SYSU-MM01, RegDB and LLCM: which images to render where,
and the split / index files beside them.

Each ``plan_*`` function writes the dataset's text files and returns the list
of :class:`Job` (one image each) without rendering anything, so the file lists
can be checked cheaply and rendered in any order.
"""
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .cameras import (INFRARED, LLCM_NIR_CAMS, LLCM_VIS_CAMS, REGDB_CAMERAS, SYSU_CAMERAS, VISIBLE,
                      llcm_camera)

# dataset codes and sub-streams of the seed: fixed forever so trees stay reproducible
SYSU, REGDB, LLCM = 1, 2, 3
_SPLIT, _CAMS = 1001, 1002
REGDB_TRIALS = 10
REGDB_IMAGES = 10
SYSU_RGB_CAMS, SYSU_IR_CAMS, SYSU_INDOOR_RGB = (1, 2, 4, 5), (3, 6), (1, 2)


@dataclass(frozen=True)
class Job:
    """One image: where it goes, who is in it, which camera sees it, and the
    integers that seed its view and noise (independent of any other job)."""
    path: Path
    dataset: int
    pid: int
    camera: object
    scene: tuple
    seed: tuple


def _write_lines(path, lines):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(f'{line}\n' for line in lines))


def _counts(rng, cams, low=2, high=6):
    return {cam: int(rng.integers(low, high + 1)) for cam in cams}


def split_sysu_ids(num_ids, seed):
    """``(train, val, test, test_without_indoor)``: sorted pid lists, about
    70/10/20 percent, at least two each; ``test_without_indoor`` lists the few
    test ids (about 10%, at least one) seen by no indoor RGB camera."""
    n_test = max(2, round(0.2 * num_ids))
    n_val = max(2, round(0.1 * num_ids))
    if num_ids - n_test - n_val < 2:
        raise ValueError(f'num_ids={num_ids} is too small for SYSU-MM01 (need at least 6)')
    rng = np.random.default_rng([seed, SYSU, _SPLIT])
    perm = rng.permutation(np.arange(1, num_ids + 1))
    test, val, train = perm[:n_test], perm[n_test:n_test + n_val], perm[n_test + n_val:]
    outdoor_only = rng.choice(test, size=max(1, round(0.1 * n_test)), replace=False)
    return tuple(sorted(int(p) for p in ids) for ids in (train, val, test, outdoor_only))


def sysu_cameras_of(rng, test, indoor):
    """Cameras one SYSU identity is seen by. ``test`` ids follow the test
    constraints; ``indoor`` says whether a test id must be in cam1 or cam2."""
    ir = rng.random()
    ir_cams = [3, 6] if ir < 0.45 else [3] if ir < 0.75 else [6]
    rgb = [cam for cam in SYSU_RGB_CAMS if rng.random() < 0.5]
    if not rgb:
        rgb = [int(rng.choice(SYSU_RGB_CAMS))]
    if test and indoor and not set(rgb) & set(SYSU_INDOOR_RGB):
        rgb.append(int(rng.choice(SYSU_INDOOR_RGB)))
    if test and not indoor:
        rgb = [cam for cam in rgb if cam not in SYSU_INDOOR_RGB] or [int(rng.choice((4, 5)))]
    return sorted(rgb + ir_cams)


def plan_sysu(root, num_ids, seed):
    """``cam{1..6}/<pid:04d>/<n:04d>.jpg`` and ``exp/{train,val,test}_id.txt``."""
    root = Path(root)
    train, val, test, outdoor_only = split_sysu_ids(num_ids, seed)
    for name, ids in (('train', train), ('val', val), ('test', test)):
        _write_lines(root / 'exp' / f'{name}_id.txt', [','.join(map(str, ids))])
    jobs = []
    for pid in range(1, num_ids + 1):
        rng = np.random.default_rng([seed, SYSU, pid, _CAMS])
        cams = sysu_cameras_of(rng, pid in test, pid not in outdoor_only)
        for cam, n in _counts(rng, cams).items():
            jobs += [Job(root / f'cam{cam}' / f'{pid:04d}' / f'{k:04d}.jpg', SYSU, pid,
                         SYSU_CAMERAS[cam], (SYSU, cam), (seed, SYSU, pid, cam, k))
                     for k in range(1, n + 1)]
    return jobs


def regdb_name(pid, modality, k):
    """Stable file name of the ``k``-th RegDB image (``modality`` 'v' or 't')."""
    return f'person_{pid}_{modality}_{k:02d}.bmp'


def plan_regdb(root, num_ids, seed):
    """``Visible/<pid>/*.bmp``, ``Thermal/<pid>/*.bmp`` (10 each, pairs share
    one pose as in the real co-located cameras) and ten train/test trials."""
    if num_ids < 4:
        raise ValueError(f'num_ids={num_ids} is too small for RegDB (need at least 4)')
    root = Path(root)
    jobs = []
    for pid in range(1, num_ids + 1):
        for k in range(1, REGDB_IMAGES + 1):
            for index, (folder, key, code) in enumerate((('Visible', 'visible', 'v'),
                                                         ('Thermal', 'thermal', 't'))):
                jobs.append(Job(root / folder / str(pid) / regdb_name(pid, code, k), REGDB, pid,
                                REGDB_CAMERAS[key], (REGDB, index), (seed, REGDB, pid, k)))
    for trial in range(1, REGDB_TRIALS + 1):
        perm = np.random.default_rng([seed, REGDB, _SPLIT, trial]).permutation(np.arange(1, num_ids + 1))
        halves = {'train': sorted(perm[:num_ids // 2]), 'test': sorted(perm[num_ids // 2:])}
        for part, ids in halves.items():
            for folder, name, code in (('Visible', 'visible', 'v'), ('Thermal', 'thermal', 't')):
                _write_lines(root / 'idx' / f'{part}_{name}_{trial}.txt',
                             [f'{folder}/{pid}/{regdb_name(pid, code, k)} {label}'
                              for label, pid in enumerate(ids) for k in range(1, REGDB_IMAGES + 1)])
    return jobs


def split_llcm_ids(num_ids, seed):
    """``(train, test)`` sorted pid lists, about two thirds / one third as in LLCM."""
    n_test = max(2, round(num_ids / 3))
    if num_ids - n_test < 2:
        raise ValueError(f'num_ids={num_ids} is too small for LLCM (need at least 4)')
    perm = np.random.default_rng([seed, LLCM, _SPLIT]).permutation(np.arange(1, num_ids + 1))
    return sorted(int(p) for p in perm[n_test:]), sorted(int(p) for p in perm[:n_test])


def plan_llcm(root, num_ids, seed):
    """``{train,test}_{vis,nir}/cam<c>/<pid:04d>/*.jpg``, ``idx/train_{vis,nir}.txt``
    (relabelled 0..) and ``idx/test_id.txt``."""
    root = Path(root)
    train, test = split_llcm_ids(num_ids, seed)
    _write_lines(root / 'idx' / 'test_id.txt', [','.join(map(str, test))])
    labels = {pid: label for label, pid in enumerate(train)}
    jobs, lists = [], {'vis': [], 'nir': []}
    cameras = {(mod, cam): llcm_camera(seed, cam, modality)
               for mod, modality, cams in (('vis', VISIBLE, LLCM_VIS_CAMS), ('nir', INFRARED, LLCM_NIR_CAMS))
               for cam in cams}
    for pid in range(1, num_ids + 1):
        rng = np.random.default_rng([seed, LLCM, pid, _CAMS])
        part = 'train' if pid in labels else 'test'
        for mod, cams in (('vis', LLCM_VIS_CAMS), ('nir', LLCM_NIR_CAMS)):
            seen = sorted(int(c) for c in rng.choice(cams, size=int(rng.integers(2, 4)), replace=False))
            for cam, n in _counts(rng, seen, 2, 4).items():
                for k in range(1, n + 1):
                    rel = f'{part}_{mod}/cam{cam}/{pid:04d}/{pid:04d}_c{cam:02d}_{k:04d}_{mod}.jpg'
                    jobs.append(Job(root / rel, LLCM, pid, cameras[mod, cam],
                                    (LLCM, 0 if mod == 'vis' else 1, cam),
                                    (seed, LLCM, pid, cam, 0 if mod == 'vis' else 1, k)))
                    if part == 'train':
                        lists[mod].append((labels[pid], rel))
    for mod, entries in lists.items():
        _write_lines(root / 'idx' / f'train_{mod}.txt', [f'{rel} {label}' for label, rel in sorted(entries)])
    return jobs
