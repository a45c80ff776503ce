"""Image packs: the packing tool, LoadReIDImageFromPack, and their errors."""
import json
import pickle
import shutil
import sys
from pathlib import Path

import mmcv
import numpy as np
import pytest
from PIL import Image

from vireid.datasets import SYSUMM01Dataset
from vireid.datasets.packed_images import PackedImages, index_path, pack_images
from vireid.datasets.transforms import LoadReIDImageFromFile, LoadReIDImageFromPack

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / 'tools' / 'dataset_converters'))
import pack_images as pack_tool  # noqa: E402

CONFIG = REPO / 'configs' / 'agw' / 'agw_r50_sysu_packed.py'
# the config's resize: PIL's Lanczos, as the reference code
LANCZOS = dict(interpolation='lanczos', backend='pillow')


@pytest.fixture
def sysu(synthetic_root, tmp_path):
    """A private copy of the synthetic SYSU-MM01 tree (packs are written into it)."""
    return Path(shutil.copytree(synthetic_root / 'SYSU-MM01', tmp_path / 'SYSU-MM01'))


def run_tool(root, *args):
    pack_tool.main([str(CONFIG), '--no-progress', '--workers', '2', '--cfg-options',
                    f'train_dataloader.dataset.data_root={root}',
                    f'test_dataloader.dataset.data_root={root}', *args])


def test_tool_packs_train_and_test_images_as_the_pipeline_resizes_them(sysu):
    run_tool(sysu, '--img-size', '32', '16')
    pack = sysu / 'packed_32x16_pillow_lanczos.npy'
    train, test = (SYSUMM01Dataset(str(sysu), split=s) for s in ('train', 'test'))
    paths = [d.get_data_info(i)['img_path'] for d in (train, test) for i in range(len(d))]
    images = PackedImages(str(pack))
    assert len(images) == len(set(paths)) and images.img_hw == (32, 16)
    assert images.resize == LANCZOS
    load = LoadReIDImageFromPack(pack.name, img_size=(32, 16), **LANCZOS)
    for path in paths[::7]:
        decoded = LoadReIDImageFromFile().transform(dict(img_path=path))['img']
        # what the reference code's Image.resize(..., Image.ANTIALIAS) computes
        expected = np.asarray(Image.fromarray(decoded).resize((16, 32), Image.LANCZOS))
        results = load.transform(dict(img_path=path))
        np.testing.assert_array_equal(results['img'], expected)
        assert results['img_shape'] == (32, 16)


def test_a_moved_dataset_finds_its_pack_by_relative_name(sysu, tmp_path):
    run_tool(sysu, '--img-size', '16', '8')
    moved = Path(shutil.move(str(sysu), str(tmp_path / 'elsewhere' / 'SYSU')))
    path = next(moved.glob('cam3/*/*.jpg'))
    load = LoadReIDImageFromPack('packed_16x8_pillow_lanczos.npy', **LANCZOS)
    img = load.transform(dict(img_path=str(path)))['img']
    decoded = LoadReIDImageFromFile().transform(dict(img_path=str(path)))['img']
    np.testing.assert_array_equal(img, mmcv.imresize(decoded, (8, 16), **LANCZOS))


def test_pickled_transform_carries_no_image_array(sysu):
    run_tool(sysu, '--img-size', '16', '8')
    load = LoadReIDImageFromPack('packed_16x8_pillow_lanczos.npy', **LANCZOS)
    path = str(next(sysu.glob('cam1/*/*.jpg')))
    first = load.transform(dict(img_path=path))['img']
    copy = pickle.loads(pickle.dumps(load))
    assert copy._images._array is None  # reopened lazily by each worker
    np.testing.assert_array_equal(copy.transform(dict(img_path=path))['img'], first)
    assert len(pickle.dumps(load)) < first.nbytes * len(load._images) / 10


def test_pack_errors_name_the_file_and_the_fix(sysu, tmp_path):
    img = str(next(sysu.glob('cam1/*/*.jpg')))
    with pytest.raises(FileNotFoundError, match='no image pack packed_288x144.npy in any '
                       'folder above .*pack_images.py'):
        LoadReIDImageFromPack('packed_288x144.npy').transform(dict(img_path=img))
    pack = pack_images([img], str(sysu), str(tmp_path / 'one.npy'), (16, 8), progress=False)
    with pytest.raises(ValueError, match=r'one.npy holds 16x8 images, the pipeline expects '
                       r'288x144'):
        LoadReIDImageFromPack(pack, img_size=(288, 144)).transform(dict(img_path=img))
    other = str(next(sysu.glob('cam2/*/*.jpg')))
    with pytest.raises(KeyError, match='not in the image pack .*one.npy'):
        LoadReIDImageFromPack(pack).transform(dict(img_path=other))
    # packed with mmcv's default resize (cv2 bilinear), read by a Lanczos pipeline
    with pytest.raises(ValueError, match=r"one.npy was resized with \{'interpolation': "
                       r"'bilinear', 'backend': 'cv2'\}, the pipeline expects \{'interpolation': "
                       r"'lanczos', 'backend': 'pillow'\}: pack it again"):
        LoadReIDImageFromPack(pack, **LANCZOS).transform(dict(img_path=img))

    index = json.loads(Path(index_path(pack)).read_text())
    del index['resize']  # a pack written before packs recorded their resize: cv2 bilinear
    Path(index_path(pack)).write_text(json.dumps(index))
    assert PackedImages(pack).resize == dict(interpolation='bilinear', backend='cv2')
    with pytest.raises(ValueError, match=r"was resized with \{'interpolation': 'bilinear'"):
        LoadReIDImageFromPack(pack, **LANCZOS).transform(dict(img_path=img))
    index['paths'].append('cam9/0001/0001.jpg')  # the array no longer matches
    Path(index_path(pack)).write_text(json.dumps(index))
    with pytest.raises(ValueError, match='does not match its index'):
        LoadReIDImageFromPack(pack).transform(dict(img_path=img))
    Path(index_path(pack)).write_text('{not json')
    with pytest.raises(ValueError, match='one.json: not a JSON pack index'):
        PackedImages(pack)


@pytest.mark.parametrize('workers', [0, 2])
def test_every_bad_image_is_named_in_one_error(sysu, tmp_path, workers):
    # one rerun per bad file would be slow on a dataset of 34,000 images
    bad = sorted(sysu.glob('cam6/*/*.jpg'))[:3]
    for path in bad[:2]:
        path.write_bytes(b'not a jpeg')
    bad[2].write_bytes(b'')
    good = [str(p) for p in sorted(sysu.glob('cam1/*/*.jpg'))[:4]]
    out = tmp_path / 'p.npy'
    with pytest.raises(ValueError) as error:
        pack_images(good + [str(p) for p in bad], str(sysu), str(out), (16, 8),
                    workers=workers, progress=False)
    message = str(error.value)
    assert message.startswith('3 of 7 images could not be packed (nothing was written)')
    assert all(str(path) in message for path in bad) and 'empty (0 bytes)' in message
    assert not out.exists() and not Path(str(out) + '.tmp.npy').exists()


def test_a_corrupt_image_stops_packing_naming_it_and_leaves_no_pack(sysu, tmp_path):
    bad = next(sysu.glob('cam6/*/*.jpg'))
    bad.write_bytes(b'not a jpeg')
    good = str(next(sysu.glob('cam1/*/*.jpg')))
    out = tmp_path / 'p.npy'
    with pytest.raises(ValueError, match=str(bad)):
        pack_images([good, str(bad)], str(sysu), str(out), (16, 8), progress=False)
    assert not out.exists() and not Path(index_path(str(out))).exists()
    assert not Path(str(out) + '.tmp.npy').exists()
    with pytest.raises(ValueError, match='not under the root'):
        pack_images([good], str(tmp_path / 'other'), str(out), (16, 8), progress=False)
