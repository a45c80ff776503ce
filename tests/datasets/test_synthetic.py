"""The procedural synthetic generator: layouts, determinism, modality rendering, CLI."""
import colorsys
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vireid.datasets.synthetic import (make_synthetic, render_person, sample_colours,
                                       sample_identity, save_montage, with_colours)
from vireid.datasets.synthetic.cameras import SYSU_CAMERAS, make_scene
from vireid.datasets.synthetic.summary import summarize

REPO = Path(__file__).resolve().parents[2]
NUM_IDS = 24  # what the session fixture generates


def _id_line(path):
    lines = path.read_text().splitlines()
    assert len(lines) == 1, f'{path} must hold one line'
    return [int(x) for x in lines[0].split(',')]


def _index(path):
    rows = [line.split(' ') for line in path.read_text().splitlines()]
    assert all(len(r) == 2 for r in rows), path
    return [(rel, int(label)) for rel, label in rows]


def _sysu_cams(root, pid):
    return {cam for cam in range(1, 7) if (root / f'cam{cam}' / f'{pid:04d}').is_dir()}


def test_sysu_layout(synthetic_root):
    root = synthetic_root / 'SYSU-MM01'
    train, val, test = (_id_line(root / 'exp' / f'{s}_id.txt') for s in ('train', 'val', 'test'))
    assert sorted(train + val + test) == list(range(1, NUM_IDS + 1))  # disjoint and complete
    assert (len(train), len(val), len(test)) == (17, 2, 5)           # 70 / 10 / 20 %, >= 2 each
    for pid in train + val:
        cams = _sysu_cams(root, pid)
        assert cams & {1, 2, 4, 5} and cams & {3, 6}, (pid, cams)
    indoor = [bool(_sysu_cams(root, pid) & {1, 2}) for pid in test]
    assert all(_sysu_cams(root, pid) & {3, 6} and _sysu_cams(root, pid) & {1, 2, 4, 5} for pid in test)
    assert 0 < sum(indoor) < len(test)  # most, not all, test ids in an indoor RGB camera
    per_cam = []
    for cam in range(1, 7):
        for folder in (root / f'cam{cam}').iterdir():
            names = sorted(p.name for p in folder.iterdir())
            assert names == [f'{n:04d}.jpg' for n in range(1, len(names) + 1)], folder
            per_cam.append(len(names))
    assert min(per_cam) >= 2 and max(per_cam) <= 6 and len(set(per_cam)) > 1
    # not every identity in every camera
    assert len(per_cam) < 6 * NUM_IDS


def test_regdb_layout(synthetic_root):
    root = synthetic_root / 'RegDB'
    for folder in ('Visible', 'Thermal'):
        assert sorted(int(p.name) for p in (root / folder).iterdir()) == list(range(1, NUM_IDS + 1))
        assert all(len(list(p.glob('*.bmp'))) == 10 for p in (root / folder).iterdir())
    train_splits = set()
    for trial in range(1, 11):
        ids = {}
        for part in ('train', 'test'):
            per_modality = []
            for modality, folder in (('visible', 'Visible'), ('thermal', 'Thermal')):
                rows = _index(root / 'idx' / f'{part}_{modality}_{trial}.txt')
                assert all((root / rel).is_file() and rel.startswith(folder + '/') for rel, _ in rows)
                pid_of = {int(rel.split('/')[1]): label for rel, label in rows}
                assert sorted(set(pid_of.values())) == list(range(len(pid_of)))  # contiguous
                assert len(rows) == 10 * len(pid_of)
                per_modality.append(pid_of)
            assert per_modality[0] == per_modality[1]  # same pid -> label in both modalities
            ids[part] = set(per_modality[0])
        assert not ids['train'] & ids['test'] and len(ids['train']) == NUM_IDS // 2
        assert ids['train'] | ids['test'] == set(range(1, NUM_IDS + 1))
        train_splits.add(frozenset(ids['train']))
    assert len(train_splits) > 1  # each trial draws its own half


def test_llcm_layout(synthetic_root):
    root = synthetic_root / 'LLCM'
    test_ids = _id_line(root / 'idx' / 'test_id.txt')
    mappings = []
    for mod in ('vis', 'nir'):
        rows = _index(root / 'idx' / f'train_{mod}.txt')
        pid_of = {}
        for rel, label in rows:
            assert rel.startswith(f'train_{mod}/cam') and (root / rel).is_file(), rel
            # the published loader's parsing: camera and pid from the text after 'cam'
            assert rel.split('cam')[1][2:6] == rel.split('/')[2]
            pid_of[int(rel.split('/')[2])] = label
        assert sorted(set(pid_of.values())) == list(range(len(pid_of)))
        mappings.append(pid_of)
    assert mappings[0] == mappings[1]
    assert not set(mappings[0]) & set(test_ids)
    assert sorted(set(mappings[0]) | set(test_ids)) == list(range(1, NUM_IDS + 1))
    for mod, cams in (('vis', range(1, 10)), ('nir', (1, 2, 4, 5, 6, 7, 8, 9))):
        assert {p.name for p in (root / f'test_{mod}').iterdir()} <= {f'cam{c}' for c in cams}
        for pid in test_ids:
            assert list((root / f'test_{mod}').glob(f'cam*/{pid:04d}/*.jpg')), (mod, pid)
    assert not (root / 'test_nir' / 'cam3').exists()


def test_images_keep_colour_only_in_visible(synthetic_root):
    root = synthetic_root / 'SYSU-MM01'
    spread = {}
    for cam in range(1, 7):
        files = sorted((root / f'cam{cam}').glob('*/*.jpg'))[:20]
        imgs = [cv2.imread(str(f), cv2.IMREAD_UNCHANGED) for f in files]
        assert all(img.shape == (128, 64, 3) for img in imgs)
        spread[cam] = np.mean([img.max(2).astype(int) - img.min(2) for img in imgs])
    assert spread[3] == spread[6] == 0  # three equal channels: infrared JPEGs are grey
    assert min(spread[c] for c in (1, 2, 4, 5)) > 15
    thermal = cv2.imread(str(next((synthetic_root / 'RegDB' / 'Thermal').glob('*/*.bmp'))))
    assert np.array_equal(thermal[..., 0], thermal[..., 2])


def test_identities_differing_only_in_colour_coincide_in_infrared():
    identity = sample_identity(0, 1, 5)
    recoloured = with_colours(identity, sample_colours(np.random.default_rng(123)))
    assert recoloured.colours != identity.colours
    for cam, camera in SYSU_CAMERAS.items():
        scene = make_scene(np.random.default_rng(cam), camera, (128, 64))
        a, b = (render_person(who, camera, scene, np.random.default_rng([7, cam]), (128, 64))
                for who in (identity, recoloured))
        if camera.modality == 'infrared':
            assert np.array_equal(a, b), cam
        else:
            assert np.abs(a.astype(int) - b).mean() > 5, cam


def test_visible_prints_contrast_with_their_garment_in_brightness():
    # a print as bright as its garment would vanish in a grey image, leaving
    # its geometry to the infrared modality alone
    rng = np.random.default_rng(0)
    for _ in range(500):
        colours = sample_colours(rng)
        for base, ink in ((colours.upper, colours.upper_print), (colours.lower, colours.lower_print)):
            value = [colorsys.rgb_to_hsv(*c)[2] for c in (base, ink)]
            assert abs(value[0] - value[1]) >= 0.3 - 1e-9, (base, ink)
            assert all(0.0 <= c <= 1.0 for c in ink), ink


def test_identities_differ_in_infrared():
    camera = SYSU_CAMERAS[3]
    scene = make_scene(np.random.default_rng(0), camera, (128, 64))
    imgs = [render_person(sample_identity(0, 1, pid), camera, scene, np.random.default_rng(1), (128, 64))
            for pid in range(1, 6)]
    for i in range(len(imgs)):
        for j in range(i):
            assert np.abs(imgs[i].astype(int) - imgs[j]).mean() > 3, (i, j)


def _tree_bytes(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*')) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_images(tmp_path):
    def generate(name, seed):
        return _tree_bytes(make_synthetic(tmp_path / name, num_ids=6, seed=seed, progress=False)['sysu'].parent)

    first, again, other = generate('a', 3), generate('b', 3), generate('c', 4)
    assert first == again
    images = {k: v for k, v in first.items() if k.endswith(('.jpg', '.bmp'))}
    assert len(images) > 200
    shared = images.keys() & other.keys()
    assert sum(images[k] == other[k] for k in shared) == 0


def test_one_layout_alone_has_the_bytes_it_has_beside_the_others(tmp_path):
    alone = make_synthetic(tmp_path / 'a', num_ids=6, seed=1, progress=False, datasets=['sysu'])
    full = make_synthetic(tmp_path / 'b', num_ids=6, seed=1, progress=False)
    assert set(alone) == {'sysu'} and not (tmp_path / 'a' / 'RegDB').exists()
    assert _tree_bytes(alone['sysu']) == _tree_bytes(full['sysu'])
    with pytest.raises(ValueError, match='datasets must be some of'):
        make_synthetic(tmp_path / 'c', num_ids=6, progress=False, datasets=['market'])


def test_regenerating_replaces_only_synthetic_trees(tmp_path):
    roots = make_synthetic(tmp_path, num_ids=8, seed=0, progress=False)
    assert summarize(roots)['sysu']['ids'] == 8
    roots = make_synthetic(tmp_path, num_ids=6, seed=0, progress=False)  # no stale identities left
    counts = summarize(roots)
    assert {k: c['ids'] for k, c in counts.items()} == {'sysu': 6, 'regdb': 6, 'llcm': 6}
    assert counts['regdb']['visible'] == counts['regdb']['infrared'] == 60
    real = tmp_path / 'real'
    (real / 'SYSU-MM01').mkdir(parents=True)
    (real / 'SYSU-MM01' / 'keep.txt').write_text('not ours')
    with pytest.raises(FileExistsError, match='SYSU-MM01'):
        make_synthetic(real, num_ids=6, progress=False)
    assert (real / 'SYSU-MM01' / 'keep.txt').read_text() == 'not ours'
    with pytest.raises(ValueError, match='num_ids'):
        make_synthetic(tmp_path / 'x', num_ids=3, progress=False)
    with pytest.raises(ValueError, match='img_size'):
        make_synthetic(tmp_path / 'x', num_ids=6, img_size=(8, 4), progress=False)


def test_montage(synthetic_root, tmp_path):
    out = save_montage(synthetic_root / 'SYSU-MM01', tmp_path / 'm.png', num_ids=3)
    img = cv2.imread(str(out))
    assert img.shape[1] == 3 * 2 * 64 + 2 * 4 and img.shape[0] > 2 * 128
    with pytest.raises(FileNotFoundError, match='cam'):
        save_montage(tmp_path, tmp_path / 'n.png')


def test_cli_prints_summary(tmp_path):
    out = tmp_path / 'data'
    proc = subprocess.run(
        [sys.executable, str(REPO / 'tools' / 'dataset_converters' / 'make_synthetic.py'), str(out),
         '--num-ids', '6', '--seed', '2', '--img-size', '64', '32', '--montage', str(tmp_path / 'm.png'),
         '--no-progress'], capture_output=True, text=True, cwd=REPO, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    counts = summarize({'sysu': out / 'SYSU-MM01', 'regdb': out / 'RegDB', 'llcm': out / 'LLCM'})
    assert f'{out / "RegDB"}: 6 ids, 60 visible + 60 infrared images' in lines
    s = counts['sysu']
    assert f'{out / "SYSU-MM01"}: 6 ids, {s["visible"]} visible + {s["infrared"]} infrared images' in lines
    assert cv2.imread(str(next((out / 'SYSU-MM01' / 'cam3').glob('*/*.jpg')))).shape == (64, 32, 3)
    assert (tmp_path / 'm.png').is_file()
