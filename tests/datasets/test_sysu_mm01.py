import glob
import logging
import os.path as osp
from functools import partial

import pytest
from mmengine.logging import MMLogger

from vireid import datasets

# mmengine's serialisation runs gc.collect() (about a second in a test
# process); test_dataset_configs.py covers the serialised path.
SYSUMM01Dataset = partial(datasets.SYSUMM01Dataset, serialize_data=False)


def read_ids(path):
    with open(path) as f:
        return [int(t) for t in f.read().replace('\n', ',').split(',') if t]


def images_of(root, pids, cams):
    return {
        osp.abspath(p)
        for pid in pids for cam in cams
        for p in glob.glob(osp.join(root, f'cam{cam}', f'{pid:04d}', '*.jpg'))
    }


def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


def test_train_split_is_train_plus_val_ids_in_all_cameras(synthetic_trees):
    root = str(synthetic_trees['sysu'])
    ids = read_ids(osp.join(root, 'exp', 'train_id.txt')) + read_ids(
        osp.join(root, 'exp', 'val_id.txt'))
    dataset = SYSUMM01Dataset(root, split='train')
    data = infos(dataset)

    assert {d['img_path'] for d in data} == images_of(root, ids, range(1, 7))
    assert len(dataset) == len(images_of(root, ids, range(1, 7)))
    # contiguous labels in ascending pid order
    label_of = {d['pid']: d['gt_label'] for d in data}
    assert [label_of[p] for p in sorted(label_of)] == list(range(len(ids)))
    assert all(label_of[d['pid']] == d['gt_label'] for d in data)
    for d in data:
        cam = int(osp.basename(osp.dirname(osp.dirname(d['img_path'])))[3:])
        assert d['camid'] == cam
        assert d['modality'] == (1 if cam in (3, 6) else 0)
        assert d['pid'] == int(osp.basename(osp.dirname(d['img_path'])))
    meta = dataset.metainfo
    assert meta['protocol'] == 'sysu' and meta['num_classes'] == len(ids)
    assert meta['num_cameras'] == 6


def test_test_split_holds_ir_queries_and_rgb_pool_of_test_ids(
        synthetic_trees):
    root = str(synthetic_trees['sysu'])
    test_ids = read_ids(osp.join(root, 'exp', 'test_id.txt'))
    dataset = SYSUMM01Dataset(root, split='test')
    data = infos(dataset)

    assert {d['pid'] for d in data} == set(test_ids)
    queries = {d['img_path'] for d in data if d['modality'] == 1}
    gallery = {d['img_path'] for d in data if d['modality'] == 0}
    assert queries == images_of(root, test_ids, (3, 6))
    assert gallery == images_of(root, test_ids, (1, 2, 4, 5))
    assert {d['camid'] for d in data if d['modality'] == 1} <= {3, 6}
    assert {d['camid'] for d in data if d['modality'] == 0} <= {1, 2, 4, 5}
    assert all(d['gt_label'] == -1 for d in data)
    # num_classes still counts the training identities
    n_train = len(read_ids(osp.join(root, 'exp', 'train_id.txt')) +
                  read_ids(osp.join(root, 'exp', 'val_id.txt')))
    assert dataset.metainfo['num_classes'] == n_train


def test_order_is_sorted_and_deterministic(tiny_sysu):
    first = infos(SYSUMM01Dataset(str(tiny_sysu), split='train'))
    second = infos(SYSUMM01Dataset(str(tiny_sysu), split='train'))
    assert first == second
    keys = [(d['pid'], d['modality'], d['camid'], d['img_path'])
            for d in first]
    assert keys == sorted(keys)


def test_identity_missing_from_some_cameras_is_fine(tiny_sysu):
    data = infos(SYSUMM01Dataset(str(tiny_sysu), split='train'))
    assert 4 not in {d['camid'] for d in data if d['pid'] == 2}
    assert {d['camid'] for d in data if d['pid'] == 1} == set(range(1, 7))


def test_missing_root_names_the_path(tmp_path):
    missing = tmp_path / 'nowhere'
    with pytest.raises(FileNotFoundError, match='nowhere.*cam1..cam6'):
        SYSUMM01Dataset(str(missing))


def test_missing_camera_folder_names_it(tiny_sysu):
    import shutil
    shutil.rmtree(tiny_sysu / 'cam5')
    with pytest.raises(FileNotFoundError, match=r'cam5.*camera 5'):
        SYSUMM01Dataset(str(tiny_sysu))


def test_bad_token_in_split_file_names_file_and_line(tiny_sysu):
    (tiny_sysu / 'exp' / 'val_id.txt').write_text('6,x7\n')
    with pytest.raises(ValueError, match=r"val_id.txt, line 1: 'x7'"):
        SYSUMM01Dataset(str(tiny_sysu))


@pytest.mark.parametrize('split', ['train', 'test'])
def test_a_test_identity_in_a_training_split_is_an_error(tiny_sysu, split):
    # trained on, a test identity would inflate every metric of the test set
    (tiny_sysu / 'exp' / 'val_id.txt').write_text('6,7\n')
    with pytest.raises(ValueError, match=r'test_id.txt: identity 7 is also in .*val_id.txt'):
        SYSUMM01Dataset(str(tiny_sysu), split=split)


def test_an_identity_in_train_and_val_names_both_files(tiny_sysu):
    train = (tiny_sysu / 'exp' / 'train_id.txt').read_text().split(',')[0]
    (tiny_sysu / 'exp' / 'val_id.txt').write_text(f'6,{train}\n')
    with pytest.raises(ValueError, match=rf'val_id.txt: identity {train} is also in .*train_id.txt'):
        SYSUMM01Dataset(str(tiny_sysu))


def test_identity_without_images_is_an_error(tiny_sysu):
    (tiny_sysu / 'exp' / 'test_id.txt').write_text('7,8,99\n')
    with pytest.raises(ValueError, match=r'test_id.txt: identity 99 has no'):
        SYSUMM01Dataset(str(tiny_sysu), split='test')


def test_unknown_split_is_an_error(tiny_sysu):
    with pytest.raises(ValueError, match="'val'"):
        SYSUMM01Dataset(str(tiny_sysu), split='val')


def test_loading_logs_a_summary_per_modality(tiny_sysu):
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    try:
        SYSUMM01Dataset(str(tiny_sysu), split='test')
    finally:
        logger.removeHandler(handler)
    lines = [line.split() for r in records
             for line in r.getMessage().splitlines()]
    # test ids 7, 8: 2 images per camera, 7 lacks cam2 and 8 lacks cam6
    assert ['visible', '2', '14', '1,2,4,5'] in lines
    assert ['infrared', '2', '6', '3,6'] in lines
