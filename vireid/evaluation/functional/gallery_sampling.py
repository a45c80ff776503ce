"""Which pool images form the gallery of one evaluation trial.

Two rules for SYSU-MM01 (and the first one for LLCM):

* ``reference``: the rule of the published baselines' ``data_manager.py``.
  For trial ``t``: ``random.seed(t)``; for each identity in ascending order
  and each gallery camera in list order, if the identity has images in that
  camera take ``random.choice(sorted(paths))``. Multi-shot (``num_shots >
  1``, this toolbox's extension): ``random.sample(sorted(paths), min(n,
  len(paths)))`` in place of the choice, so identities and cameras still draw
  from one seeded stream in the same order.
* ``official``: the SYSU-MM01 kit's ``rand_perm_cam.mat``. Trial ``t`` (0..9)
  is the kit's run ``t + 1`` (row ``t`` of each permutation); for each gallery
  camera in list order and each identity in ascending order (the kit loops
  cameras outside, identities inside) the first ``num_shots`` numbers ``n``
  of the permutation name the files ``<n:04d>.jpg`` of that identity and
  camera.

The functions take the pool as parallel arrays (paths, pids, camids) and
return indices into them in the order the rule picks the images, whatever
the order of the arrays.
"""
import os.path as osp
import random
from collections import defaultdict
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

SYSU_GALLERY_CAMERAS = {'all': (1, 2, 4, 5), 'indoor': (1, 2)}
SYSU_NUM_CAMERAS = 6


def _group_by_id_and_camera(img_paths: Sequence[str], pids: Sequence[int],
                            camids: Sequence[int]
                            ) -> Dict[Tuple[int, int], List[Tuple[str, int]]]:
    if not len(img_paths) == len(pids) == len(camids):
        raise ValueError(
            f'img_paths, pids and camids differ in length: {len(img_paths)}, '
            f'{len(pids)}, {len(camids)}')
    groups = defaultdict(list)
    for index, (path, pid, cam) in enumerate(zip(img_paths, pids, camids)):
        groups[(int(pid), int(cam))].append((str(path), index))
    for members in groups.values():
        members.sort()
    return groups


def reference_gallery_trial(img_paths: Sequence[str], pids: Sequence[int],
                            camids: Sequence[int], trial: int,
                            cameras: Sequence[int],
                            num_shots: int = 1) -> np.ndarray:
    """Gallery of one trial by the published baselines' seeded rule.

    Args:
        img_paths, pids, camids: the gallery pool, one entry per image.
        trial: the seed (``random.seed(trial)``), 0..9 in the papers.
        cameras: gallery cameras, in the order the rule visits them.
        num_shots: images per identity and camera (1 = the published rule).

    Returns:
        np.ndarray: int64 indices into the pool, in pick order.
    """
    if num_shots < 1:
        raise ValueError(f'num_shots must be >= 1, got {num_shots}')
    groups = _group_by_id_and_camera(img_paths, pids, camids)
    # A private generator seeded like the module one gives the same stream
    # as ``random.seed(t); random.choice(...)`` without touching global state.
    rng = random.Random(trial)
    picked = []
    for pid in sorted({pid for pid, _ in groups}):
        for cam in cameras:
            members = groups.get((pid, int(cam)))
            if not members:
                continue
            if num_shots == 1:
                picked.append(rng.choice(members)[1])
            else:
                chosen = rng.sample(members, min(num_shots, len(members)))
                picked.extend(index for _, index in chosen)
    return np.asarray(picked, dtype=np.int64)


def load_sysu_perm(path: str) -> List[List[np.ndarray]]:
    """Read the SYSU-MM01 kit's ``rand_perm_cam.mat``.

    The file holds ``rand_perm_cam``: a 6 x 1 cell (one per camera) of
    N x 1 cells (one per person id 1..N, 333 in the kit), each a
    ``runs x images`` matrix of 1-based image numbers (empty when the person
    has no image in that camera).

    Returns:
        list: ``perm[cam - 1][pid - 1]``, a 2-D int64 array ``(runs, n)``.
    """
    from scipy.io import loadmat  # scipy is only needed for this format

    if not osp.isfile(path):
        raise FileNotFoundError(f'SYSU-MM01 permutation file not found: '
                                f'{path}')
    try:
        content = loadmat(path)
    except Exception as err:  # scipy raises several types for bad files
        raise ValueError(f'{path}: not a readable .mat file ({err})') from err
    if 'rand_perm_cam' not in content:
        keys = sorted(k for k in content if not k.startswith('__'))
        raise ValueError(f'{path}: no variable "rand_perm_cam" (found '
                         f'{keys})')
    cells = content['rand_perm_cam']
    if cells.dtype != object or cells.size != SYSU_NUM_CAMERAS:
        raise ValueError(
            f'{path}: rand_perm_cam must be a {SYSU_NUM_CAMERAS} x 1 cell '
            f'array (one per camera), found shape {cells.shape} of '
            f'{cells.dtype}')
    perm = []
    for cam, per_id in enumerate(cells.reshape(-1), start=1):
        if not isinstance(per_id, np.ndarray) or per_id.dtype != object:
            raise ValueError(f'{path}: rand_perm_cam{{{cam}}} must be a cell '
                             'array with one entry per person id, found '
                             f'{type(per_id).__name__}')
        rows = []
        for pid, matrix in enumerate(per_id.reshape(-1), start=1):
            matrix = np.asarray(matrix)
            if matrix.size == 0:
                matrix = np.zeros((0, 0), dtype=np.int64)
            elif matrix.ndim != 2:
                raise ValueError(
                    f'{path}: rand_perm_cam{{{cam}}}{{{pid}}} must be a runs'
                    f' x images matrix, found shape {matrix.shape}')
            rows.append(matrix.astype(np.int64))
        perm.append(rows)
    return perm


def official_gallery_trial(img_paths: Sequence[str], pids: Sequence[int],
                           camids: Sequence[int], trial: int,
                           cameras: Sequence[int], perm: Sequence,
                           num_shots: int = 1) -> np.ndarray:
    """Gallery of run ``trial + 1`` of the SYSU-MM01 kit's permutation.

    ``perm`` is :func:`load_sysu_perm`'s output. Fewer than ``num_shots``
    images of an identity in a camera: all of them are taken.
    """
    if num_shots < 1:
        raise ValueError(f'num_shots must be >= 1, got {num_shots}')
    groups = _group_by_id_and_camera(img_paths, pids, camids)
    by_number = {}
    for (pid, cam), members in groups.items():
        for path, index in members:
            stem = osp.splitext(osp.basename(path))[0]
            if stem.isdigit():
                by_number[(pid, cam, int(stem))] = index
    picked = []
    for cam in cameras:
        cam = int(cam)
        if not 1 <= cam <= len(perm):
            raise ValueError(f'camera {cam} is not in the permutation '
                             f'(it has {len(perm)} cameras)')
        for pid in sorted({p for p, c in groups if c == cam}):
            if not 1 <= pid <= len(perm[cam - 1]):
                raise ValueError(
                    f'person id {pid} (camera {cam}) is not in the '
                    f'permutation (ids 1..{len(perm[cam - 1])})')
            matrix = perm[cam - 1][pid - 1]
            if matrix.size == 0:
                continue  # the kit skips identities with an empty row
            if not 0 <= trial < matrix.shape[0]:
                raise ValueError(
                    f'trial {trial} needs run {trial + 1}, the permutation '
                    f'has {matrix.shape[0]} runs')
            for number in matrix[trial, :num_shots]:
                index = by_number.get((pid, cam, int(number)))
                if index is None:
                    raise ValueError(
                        f'the permutation picks image {int(number):04d}.jpg'
                        f' of person {pid:04d} in camera {cam} (run '
                        f'{trial + 1}), which is not in the gallery pool')
                picked.append(index)
    return np.asarray(picked, dtype=np.int64)


def sysu_gallery_trial(img_paths: Sequence[str], pids: Sequence[int],
                       camids: Sequence[int], trial: int,
                       search_mode: str = 'all', num_shots: int = 1,
                       perm: Optional[Sequence] = None) -> np.ndarray:
    """SYSU-MM01 gallery of one trial: indices into the given pool.

    Args:
        img_paths, pids, camids: the RGB pool (other cameras are ignored).
        trial: 0..9; the seed of the reference rule, or run ``trial + 1`` of
            the official permutation.
        search_mode: ``'all'`` (cameras 1, 2, 4, 5) or ``'indoor'`` (1, 2).
        num_shots: 1 (single-shot) or 10 (multi-shot) images per identity
            and camera.
        perm: :func:`load_sysu_perm`'s output for the official sampling;
            ``None`` for the reference sampling.
    """
    if search_mode not in SYSU_GALLERY_CAMERAS:
        raise ValueError(f'search_mode must be one of '
                         f'{tuple(SYSU_GALLERY_CAMERAS)}, got {search_mode!r}')
    cameras = SYSU_GALLERY_CAMERAS[search_mode]
    if perm is None:
        return reference_gallery_trial(img_paths, pids, camids, trial,
                                       cameras, num_shots)
    return official_gallery_trial(img_paths, pids, camids, trial, cameras,
                                  perm, num_shots)
