"""Bad inputs not covered next to their components: each fails naming the key, file or
value at fault, and leaves the files it was given untouched."""
import hashlib
import re
import runpy
import shutil
import sys
from pathlib import Path

import pytest
import torch
from mmengine.config import Config
from mmengine.runner import Runner

from vireid.datasets import RegDBDataset, SYSUMM01Dataset
from vireid.registry import MODELS
from vireid.utils import register_all_modules

REPO = Path(__file__).resolve().parents[2]


def listing(root: Path) -> dict:
    """Every file under ``root`` with the digest of its bytes."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


def tiny_agw_cfg(data_root, work_dir) -> Config:
    register_all_modules()
    cfg = Config.fromfile(str(REPO / 'configs' / 'agw' / 'agw_r18_synthetic.py'))
    cfg.merge_from_dict(dict(
        model=dict(backbone=dict(depth=18, base_channels=16, init_cfg=None),
                   head=dict(in_channels=128, num_classes=19)),
        train_dataloader=dict(num_workers=0, persistent_workers=False,
                              dataset=dict(data_root=str(data_root))),
        test_dataloader=dict(num_workers=0, persistent_workers=False,
                             dataset=dict(data_root=str(data_root))),
        work_dir=str(work_dir)))
    return cfg


@pytest.mark.parametrize('key, message', [
    ('model.backbone.depthh', r"TwoStreamResNet.__init__\(\) got an unexpected keyword "
                              r"argument 'depthh'"),
    ('train_cfg.max_epoch', r"EpochBasedTrainLoop.__init__\(\) got an unexpected keyword "
                            r"argument 'max_epoch'"),
])
def test_config_key_that_no_component_takes_names_key_and_class(synthetic_root, tmp_path,
                                                                 key, message):
    cfg = tiny_agw_cfg(synthetic_root / 'SYSU-MM01', tmp_path)
    cfg.merge_from_dict({key: 2})
    with pytest.raises(TypeError, match=message):
        Runner.from_cfg(cfg).train_loop


def test_dataset_kwarg_typo_names_the_key(synthetic_root, tmp_path):
    cfg = tiny_agw_cfg(synthetic_root / 'SYSU-MM01', tmp_path)
    cfg.train_dataloader.dataset.splitt = 'train'
    runner = Runner.from_cfg(cfg)
    # MMEngine names the base class that finally rejects it, not SYSUMM01Dataset
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'splitt'"):
        runner.build_dataloader(cfg.train_dataloader)


@pytest.fixture
def sysu_copy(synthetic_root, tmp_path):
    root = tmp_path / 'SYSU-MM01'
    shutil.copytree(synthetic_root / 'SYSU-MM01', root)
    return root


@pytest.mark.parametrize('name, text, split, message', [
    ('train_id.txt', '4,5,7,4\n', 'train', r'train_id.txt, line 1: identity 4 listed twice '
                                           r'\(first on line 1\)'),
    ('test_id.txt', '\n', 'test', r'test_id.txt: no identities listed'),
])
def test_sysu_split_file_duplicate_or_empty(sysu_copy, name, text, split, message):
    (sysu_copy / 'exp' / name).write_text(text)
    before = listing(sysu_copy)
    with pytest.raises(ValueError, match=message):
        SYSUMM01Dataset(str(sysu_copy), split=split)
    assert listing(sysu_copy) == before


def test_empty_dataset_folder_names_the_first_missing_file(tmp_path):
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match=r'empty/exp/train_id.txt: missing file'):
        SYSUMM01Dataset(str(tmp_path / 'empty'), split='train')
    assert list((tmp_path / 'empty').iterdir()) == []


def test_empty_regdb_index_file(synthetic_root, tmp_path):
    root = tmp_path / 'RegDB'
    shutil.copytree(synthetic_root / 'RegDB', root)
    (root / 'idx' / 'train_visible_1.txt').write_text('')
    before = listing(root)
    with pytest.raises(ValueError, match=r'train_visible_1.txt: no entries'):
        RegDBDataset(str(root), split='train', trial=1)
    assert listing(root) == before


def run_test_tool(monkeypatch, *args):
    monkeypatch.setattr(sys, 'argv', ['tools/test.py', *map(str, args)])
    runpy.run_path(str(REPO / 'tools' / 'test.py'), run_name='__main__')


def test_test_tool_with_a_missing_checkpoint(monkeypatch, capsys, tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        run_test_tool(monkeypatch, REPO / 'configs' / 'agw' / 'agw_r18_synthetic.py',
                      tmp_path / 'nope.pth')
    assert exit_info.value.code == 2
    assert f'checkpoint not found: {tmp_path / "nope.pth"}' in capsys.readouterr().err


@pytest.mark.parametrize('args, message', [
    (['{ckpt}', '--untrained'],
     '--untrained evaluates without weights: drop it, or the checkpoint'),
    (['--untrained', '--out', '{tmp}/table.txt'], '--out {tmp}/table.txt: the file must end in '
                                                   '.json or .csv'),
])
def test_test_tool_refuses_contradicting_or_unwritable_arguments_before_evaluating(
        monkeypatch, capsys, tmp_path, args, message):
    checkpoint = tmp_path / 'epoch_1.pth'
    checkpoint.write_bytes(b'')
    args = [a.format(ckpt=checkpoint, tmp=tmp_path) for a in args]
    with pytest.raises(SystemExit) as exit_info:
        run_test_tool(monkeypatch, REPO / 'configs' / 'agw' / 'agw_r18_synthetic.py', *args)
    assert exit_info.value.code == 2
    assert message.format(tmp=tmp_path) in capsys.readouterr().err


def test_train_tool_with_a_missing_resume_checkpoint_stops_before_writing(monkeypatch, capsys,
                                                                          tmp_path):
    config = REPO / 'configs' / 'agw' / 'agw_r18_synthetic.py'
    monkeypatch.setattr(sys, 'argv', ['tools/train.py', str(config), '--work-dir',
                                      str(tmp_path / 'work'), '--resume', str(tmp_path / 'nope.pth')])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(str(REPO / 'tools' / 'train.py'), run_name='__main__')
    assert exit_info.value.code == 2
    assert f'--resume {tmp_path / "nope.pth"}: checkpoint not found' in capsys.readouterr().err
    assert not (tmp_path / 'work').exists()


def test_train_tool_resume_with_nothing_to_resume_keeps_the_configs_load_from(monkeypatch,
                                                                          capsys, tmp_path):
    built = {}

    def from_cfg(cfg):
        built.update(resume=cfg.resume, load_from=cfg.load_from)
        raise SystemExit(0)  # stop before building anything

    monkeypatch.setattr(Runner, 'from_cfg', from_cfg)
    monkeypatch.setattr(sys, 'argv', [
        'tools/train.py', str(REPO / 'configs' / 'agw' / 'agw_r18_synthetic.py'), '--work-dir',
        str(tmp_path / 'work'), '--resume', '--cfg-options', 'load_from=pretrained.pth'])
    with pytest.raises(SystemExit):
        runpy.run_path(str(REPO / 'tools' / 'train.py'), run_name='__main__')
    assert built == dict(resume=False, load_from='pretrained.pth')
    assert f'--resume: no checkpoint in {tmp_path / "work"} yet' in capsys.readouterr().out


def test_test_tool_with_another_models_checkpoint_lists_the_keys(synthetic_root, tmp_path,
                                                                 monkeypatch):
    agw = tiny_agw_cfg(synthetic_root / 'SYSU-MM01', tmp_path / 'work')
    config = tmp_path / 'agw_tiny.py'
    agw.dump(str(config))
    # an MCLNet of the same backbone: AGW lacks its modality classifier and centers
    mclnet_cfg = Config.fromfile(str(REPO / 'configs' / 'mclnet' / 'mclnet_r18_synthetic.py'))
    mclnet_cfg.merge_from_dict(dict(model=dict(
        backbone=dict(depth=18, base_channels=16, init_cfg=None),
        head=dict(in_channels=128, num_classes=19), modality_classifier=dict(in_channels=128))))
    checkpoint = tmp_path / 'mclnet.pth'
    torch.save(dict(state_dict=MODELS.build(mclnet_cfg.model).state_dict(), meta={}),
               checkpoint)
    before = checkpoint.read_bytes()

    with pytest.raises(RuntimeError, match=rf'{checkpoint} does not hold the weights of this AGW'
                                           r'.*: 0 keys missing from the file; \d+ keys not in '
                                           r'the model \(e.g. [^)]*modality_classifier') as err:
        run_test_tool(monkeypatch, config, checkpoint)
    # MMEngine's own message, with every key, stays attached
    assert re.search(r'(?s)unexpected key in source state_dict: .*ica\.centers', str(err.value.__cause__))
    assert checkpoint.read_bytes() == before
