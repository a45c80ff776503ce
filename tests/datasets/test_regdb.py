import os.path as osp
from functools import partial

import pytest

from vireid import datasets

# mmengine's serialisation runs gc.collect() (about a second in a test
# process); test_dataset_configs.py covers the serialised path.
RegDBDataset = partial(datasets.RegDBDataset, serialize_data=False)


def read_index(root, name):
    with open(osp.join(root, 'idx', name)) as f:
        return [(osp.join(root, line.split()[0]), int(line.split()[1]))
                for line in f if line.strip()]


def infos(dataset):
    return [dataset.get_data_info(i) for i in range(len(dataset))]


@pytest.mark.parametrize('trial', [1, 2])
def test_train_and_test_follow_the_trial_files(synthetic_trees, trial):
    root = str(synthetic_trees['regdb'])
    for split in ('train', 'test'):
        visible = read_index(root, f'{split}_visible_{trial}.txt')
        thermal = read_index(root, f'{split}_thermal_{trial}.txt')
        data = infos(RegDBDataset(root, split=split, trial=trial))
        assert len(data) == len(visible) + len(thermal)
        got = {(d['img_path'], d['pid'], d['modality'], d['camid'])
               for d in data}
        assert got == {(p, label, 0, 1) for p, label in visible} | {
            (p, label, 1, 2) for p, label in thermal}
        if split == 'train':
            labels = sorted({label for _, label in visible + thermal})
            assert all(d['gt_label'] == labels.index(d['pid']) for d in data)
        else:
            assert all(d['gt_label'] == -1 for d in data)


def test_metainfo_and_relabelling(tiny_regdb):
    dataset = RegDBDataset(str(tiny_regdb), split='train', trial=2)
    data = infos(dataset)
    # trial 2 trains on pids 4, 5, 6 whose file labels are 40, 50, 60
    assert {(d['pid'], d['gt_label']) for d in data} == {(40, 0), (50, 1),
                                                         (60, 2)}
    assert dataset.metainfo['protocol'] == 'regdb'
    assert dataset.metainfo['num_classes'] == 3
    assert dataset.metainfo['trial'] == 2
    test = RegDBDataset(str(tiny_regdb), split='test', trial=2)
    assert {d['pid'] for d in infos(test)} == {10, 20, 30}


def write_index(root, name, lines):
    (root / 'idx' / name).write_text('\n'.join(lines) + '\n')


@pytest.mark.parametrize('line, message', [
    ('Visible/1/v_1_0.bmp', r'train_visible_1.txt, line 2: expected'),
    ('Visible/1/v_1_0.bmp ten', r"line 2: label 'ten' is not an integer"),
    ('../x.bmp 10', r"line 2: image path '../x.bmp' leaves the dataset"),
    ('/abs/x.bmp 10', r"line 2: image path '/abs/x.bmp' leaves the"),
    ('Visible/1/v_1_1.bmp 10', r'line 2: duplicate entry .*first on line 1'),
    ('Visible/1/missing.bmp 10', r'line 2: image .*missing.bmp does not'),
])
def test_bad_index_line_names_file_and_line(tiny_regdb, line, message):
    write_index(tiny_regdb, 'train_visible_1.txt',
                ['Visible/1/v_1_1.bmp 10', line])
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        RegDBDataset(str(tiny_regdb), split='train', trial=1)


def test_missing_trial_file_names_it(tiny_regdb):
    with pytest.raises(FileNotFoundError, match='train_visible_3.txt'):
        RegDBDataset(str(tiny_regdb), split='train', trial=3)


def test_bad_trial_is_an_error(tiny_regdb):
    with pytest.raises(ValueError, match='trial'):
        RegDBDataset(str(tiny_regdb), trial=0)
