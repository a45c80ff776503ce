import glob
import os.path as osp
from functools import partial

import pytest

from vireid import datasets

# mmengine's serialisation runs gc.collect() (about a second in a test
# process); test_dataset_configs.py covers the serialised path.
LLCMDataset = partial(datasets.LLCMDataset, serialize_data=False)


def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def read_index(root, name):
    with open(osp.join(root, 'idx', name)) as f:
        return [(osp.join(root, line.split()[0]), int(line.split()[1]))
                for line in f if line.strip()]


def camera_folder(path):
    return int(path.split(osp.sep)[-3][3:])


def test_train_split_follows_the_index_files(synthetic_trees):
    root = str(synthetic_trees['llcm'])
    vis = read_index(root, 'train_vis.txt')
    nir = read_index(root, 'train_nir.txt')
    dataset = LLCMDataset(root, split='train')
    data = infos(dataset)
    assert len(data) == len(vis) + len(nir)
    assert {(d['img_path'], d['pid'], d['modality'], d['camid'])
            for d in data} == {(p, label, 0, camera_folder(p))
                               for p, label in vis} | {
                                   (p, label, 1, camera_folder(p))
                                   for p, label in nir}
    labels = sorted({label for _, label in vis + nir})
    assert [d['gt_label'] for d in data] == [
        labels.index(d['pid']) for d in data]
    assert dataset.metainfo['protocol'] == 'llcm'
    assert dataset.metainfo['num_classes'] == len(labels)


def test_test_split_holds_every_test_image_of_the_test_ids(synthetic_trees):
    root = str(synthetic_trees['llcm'])
    with open(osp.join(root, 'idx', 'test_id.txt')) as f:
        test_ids = {int(t) for t in f.read().strip().split(',') if t}
    expected = set()
    for top, modality in (('test_vis', 0), ('test_nir', 1)):
        for path in glob.glob(osp.join(root, top, 'cam*', '*', '*.jpg')):
            pid = int(path.split(osp.sep)[-2])
            if pid in test_ids:
                expected.add((osp.abspath(path), pid, modality,
                              camera_folder(path)))
    data = infos(LLCMDataset(root, split='test'))
    assert {(d['img_path'], d['pid'], d['modality'], d['camid'])
            for d in data} == expected
    assert len(data) == len(expected)
    assert all(d['gt_label'] == -1 for d in data)
    assert {d['camid'] for d in data if d['modality'] == 1} <= {
        1, 2, 4, 5, 6, 7, 8, 9}


def test_missing_test_camera_folder_names_it(tiny_llcm):
    import shutil
    shutil.rmtree(tiny_llcm / 'test_nir' / 'cam7')
    with pytest.raises(FileNotFoundError, match=r'test_nir.cam7'):
        LLCMDataset(str(tiny_llcm), split='test')


def test_bad_test_id_token_names_file_and_line(tiny_llcm):
    (tiny_llcm / 'idx' / 'test_id.txt').write_text('11,\n12;13\n')
    with pytest.raises(ValueError, match=r"test_id.txt, line 2: '12;13'"):
        LLCMDataset(str(tiny_llcm), split='test')


def test_test_id_without_images_is_an_error(tiny_llcm):
    (tiny_llcm / 'idx' / 'test_id.txt').write_text('11,12,13\n')
    with pytest.raises(ValueError, match='identity 13 has no images'):
        LLCMDataset(str(tiny_llcm), split='test')


def test_train_path_without_camera_is_an_error(tiny_llcm):
    (tiny_llcm / 'x.jpg').write_bytes(b'')
    with open(tiny_llcm / 'idx' / 'train_nir.txt', 'a') as f:
        f.write('x.jpg 1\n')
    with pytest.raises(ValueError,
                       match=r'train_nir.txt, line \d+: no "camN"'):
        LLCMDataset(str(tiny_llcm), split='train')
