"""SYSU-MM01 gallery trials: the reference seeded rule and the kit's .mat."""
import os
import random

import numpy as np
import pytest
from scipy.io import savemat

from vireid.evaluation.functional import (load_sysu_perm,
                                          reference_gallery_trial,
                                          sysu_gallery_trial)

# pid -> {camera: number of images}; some ids miss some cameras.
TREE = {
    1: {1: 3, 2: 2, 3: 2, 4: 4, 5: 1, 6: 2},
    2: {1: 1, 2: 5, 3: 3, 5: 2, 6: 1},
    5: {2: 2, 3: 1, 4: 3},
    12: {1: 4, 4: 2, 5: 3, 6: 2},
}
RGB = (1, 2, 4, 5)


@pytest.fixture(scope='module')
def sysu_tree(tmp_path_factory):
    """Empty but named files in SYSU-MM01's layout, plus the RGB pool as
    parallel arrays in a shuffled order."""
    root = str(tmp_path_factory.mktemp('sysu'))
    paths, pids, cams = [], [], []
    for pid, per_cam in TREE.items():
        for cam, count in per_cam.items():
            folder = os.path.join(root, f'cam{cam}', f'{pid:04d}')
            os.makedirs(folder)
            for n in range(1, count + 1):
                open(os.path.join(folder, f'{n:04d}.jpg'), 'w').close()
                if cam in RGB:
                    paths.append(folder + '/' + f'{n:04d}.jpg')
                    pids.append(pid)
                    cams.append(cam)
    order = np.random.default_rng(0).permutation(len(paths))
    return (root, [paths[i] for i in order], np.array(pids)[order],
            np.array(cams)[order])


def _published_rule(root, cameras, trial, num_shots=1):
    """The published baselines' data_manager loop, on the tree itself."""
    random.seed(trial)
    picked = []
    for pid in sorted(f'{p:04d}' for p in TREE):
        for cam in cameras:
            img_dir = os.path.join(root, f'cam{cam}', pid)
            if os.path.isdir(img_dir):
                files = sorted(img_dir + '/' + name
                               for name in os.listdir(img_dir))
                if num_shots == 1:
                    picked.append(random.choice(files))
                else:
                    picked.extend(
                        random.sample(files, min(num_shots, len(files))))
    return picked


@pytest.mark.parametrize('mode, cameras', [('all', RGB), ('indoor', (1, 2))])
@pytest.mark.parametrize('num_shots', [1, 10])
def test_reference_rule_matches_published_loop(sysu_tree, mode, cameras,
                                               num_shots):
    root, paths, pids, cams = sysu_tree
    for trial in range(10):
        picked = sysu_gallery_trial(paths, pids, cams, trial,
                                    search_mode=mode, num_shots=num_shots)
        assert [paths[i] for i in picked] == _published_rule(
            root, cameras, trial, num_shots)


def test_reference_rule_single_shot_counts_and_state(sysu_tree):
    _, paths, pids, cams = sysu_tree
    random.seed(123)
    before = random.random()
    random.seed(123)
    picked = sysu_gallery_trial(paths, pids, cams, 0)
    # One image per (id, RGB camera) that has any: 4 + 3 + 2 + 3.
    assert len(picked) == 12
    assert len({(pids[i], cams[i]) for i in picked}) == 12
    assert random.random() == before  # the global random state is untouched


def test_picks_do_not_depend_on_input_order(sysu_tree):
    _, paths, pids, cams = sysu_tree
    order = np.random.default_rng(1).permutation(len(paths))
    shuffled = ([paths[i] for i in order], pids[order], cams[order])
    for trial in (0, 3):
        for shots in (1, 10):
            a = sysu_gallery_trial(paths, pids, cams, trial, num_shots=shots)
            b = sysu_gallery_trial(*shuffled, trial, num_shots=shots)
            assert [paths[i] for i in a] == [shuffled[0][i] for i in b]


def test_trials_differ(sysu_tree):
    _, paths, pids, cams = sysu_tree
    draws = {tuple(reference_gallery_trial(paths, pids, cams, t, RGB))
             for t in range(10)}
    assert len(draws) > 1


def _write_perm(path, per_cam):
    """rand_perm_cam: 6 x 1 cell of (num_ids x 1) cells of runs x n."""
    num_ids = 12
    cells = np.empty((6, 1), dtype=object)
    for cam in range(1, 7):
        inner = np.empty((num_ids, 1), dtype=object)
        for pid in range(1, num_ids + 1):
            matrix = per_cam.get(cam, {}).get(pid)
            inner[pid - 1, 0] = (np.zeros((0, 0)) if matrix is None else
                                 np.asarray(matrix, dtype=np.uint8))
        cells[cam - 1, 0] = inner
    savemat(path, {'rand_perm_cam': cells})


def test_official_sampling_from_mat(sysu_tree, tmp_path):
    root, paths, pids, cams = sysu_tree
    perm_path = str(tmp_path / 'rand_perm_cam.mat')
    # Runs 1 and 2 of every (camera, id) in TREE's RGB part.
    _write_perm(perm_path, {
        1: {1: [[2, 1, 3], [3, 1, 2]], 2: [[1], [1]], 12: [[4, 3, 2, 1],
                                                        [1, 2, 3, 4]]},
        2: {1: [[2, 1], [1, 2]], 2: [[5, 4, 3, 2, 1], [2, 3, 4, 5, 1]],
            5: [[1, 2], [2, 1]]},
        4: {1: [[4, 3, 2, 1], [1, 2, 3, 4]], 5: [[3, 1, 2], [2, 3, 1]],
            12: [[2, 1], [1, 2]]},
        5: {1: [[1], [1]], 2: [[2, 1], [1, 2]], 12: [[3, 2, 1], [1, 3, 2]]},
    })
    perm = load_sysu_perm(perm_path)

    def names(picked):
        return [os.path.relpath(paths[i], root) for i in picked]

    # Run 1, single-shot, all-search: cameras outside, ids inside.
    assert names(sysu_gallery_trial(paths, pids, cams, 0, 'all', 1, perm)) \
        == ['cam1/0001/0002.jpg', 'cam1/0002/0001.jpg', 'cam1/0012/0004.jpg',
            'cam2/0001/0002.jpg', 'cam2/0002/0005.jpg', 'cam2/0005/0001.jpg',
            'cam4/0001/0004.jpg', 'cam4/0005/0003.jpg', 'cam4/0012/0002.jpg',
            'cam5/0001/0001.jpg', 'cam5/0002/0002.jpg', 'cam5/0012/0003.jpg']
    # Run 2, two shots, indoor: the first two numbers, fewer if fewer.
    assert names(sysu_gallery_trial(paths, pids, cams, 1, 'indoor', 2,
                                    perm)) \
        == ['cam1/0001/0003.jpg', 'cam1/0001/0001.jpg', 'cam1/0002/0001.jpg',
            'cam1/0012/0001.jpg', 'cam1/0012/0002.jpg', 'cam2/0001/0001.jpg',
            'cam2/0001/0002.jpg', 'cam2/0002/0002.jpg', 'cam2/0002/0003.jpg',
            'cam2/0005/0002.jpg', 'cam2/0005/0001.jpg']
    with pytest.raises(ValueError, match='run 3'):
        sysu_gallery_trial(paths, pids, cams, 2, 'all', 1, perm)


def test_official_sampling_names_a_missing_image(sysu_tree, tmp_path):
    _, paths, pids, cams = sysu_tree
    perm_path = str(tmp_path / 'bad.mat')
    _write_perm(perm_path, {1: {1: [[9]]}})
    with pytest.raises(ValueError, match='0009.jpg of person 0001'):
        sysu_gallery_trial(paths, pids, cams, 0, 'indoor', 1,
                           load_sysu_perm(perm_path))


def test_load_sysu_perm_checks_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.mat'):
        load_sysu_perm(str(tmp_path / 'missing.mat'))
    wrong = str(tmp_path / 'wrong.mat')
    cells = np.empty((5, 1), dtype=object)
    cells[:, 0] = [np.zeros((1, 1)) for _ in range(5)]
    savemat(wrong, {'rand_perm_cam': cells})
    with pytest.raises(ValueError, match=r'wrong\.mat.*\(5, 1\)'):
        load_sysu_perm(wrong)
    other = str(tmp_path / 'other.mat')
    savemat(other, {'id': np.arange(3)})
    with pytest.raises(ValueError, match='no variable "rand_perm_cam"'):
        load_sysu_perm(other)


def test_kit_file_loads_when_present():
    kit = '/work/shared/sysu_eval_kit/rand_perm_cam.mat'
    if not os.path.isfile(kit):
        pytest.skip('the SYSU-MM01 kit copy is not on this machine')
    perm = load_sysu_perm(kit)
    assert len(perm) == 6 and len(perm[0]) == 333
    assert all(m.shape[0] == 10 for cam in perm for m in cam if m.size)


def test_bad_search_mode():
    with pytest.raises(ValueError, match='search_mode'):
        sysu_gallery_trial([], [], [], 0, search_mode='outdoor')
