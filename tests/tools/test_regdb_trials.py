"""tools/regdb_trials.sh: one model per RegDB trial, each tested on its split, then averaged."""
import json
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from mmengine.config import Config

ROOT = Path(__file__).resolve().parents[2]

TINY_REGDB = """
_base_ = [{base!r}]
model = dict(backbone=dict(depth=18, base_channels=8, non_local=dict(layer2=(1, ), layer3=(1, )),
                           init_cfg=None),
             head=dict(in_channels=64, num_classes=12))
_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(32, 64), keep_ratio=False),
    dict(type='PackReIDInputs'),
]
train_dataloader = dict(batch_size=8, num_workers=0, persistent_workers=False,
                        sampler=dict(num_ids=2, num_instances=2),
                        dataset=dict(data_root={root!r}, pipeline=_pipeline))
val_dataloader = dict(num_workers=0, persistent_workers=False,
                      dataset=dict(data_root={root!r}, pipeline=_pipeline))
test_dataloader = val_dataloader
train_cfg = dict(max_epochs=1, val_interval=10)
"""


def regdb_trials(run_command, config, work_dir):
    return run_command(['bash', 'tools/regdb_trials.sh', config, work_dir, '--no-validate'],
                       env=dict(TRIALS='1 2'))


@pytest.fixture(scope='module')
def two_trials(synthetic_root, tmp_path_factory, run_command):
    work = tmp_path_factory.mktemp('regdb_trials')
    config = work / 'agw_tiny_regdb.py'
    config.write_text(TINY_REGDB.format(base=str(ROOT / 'configs/agw/agw_r50_regdb.py'),
                                        root=str(synthetic_root / 'RegDB')))
    out = regdb_trials(run_command, config, work / 'runs')
    return config, work / 'runs', out


def test_each_trial_trains_and_tests_on_its_own_split(two_trials):
    _, runs, out = two_trials
    for trial in (1, 2):
        trained = Config.fromfile(str(runs / f'trial_{trial}' / 'agw_tiny_regdb.py'))
        assert trained.train_dataloader.dataset.trial == trial
        assert trained.test_dataloader.dataset.trial == trial
        assert (runs / f'trial_{trial}' / 'epoch_1.pth').is_file()
    # train.py --resume in a new work dir starts afresh, and says so
    assert f"--resume: no checkpoint in {runs / 'trial_2'} yet; training from the start" in out


def test_the_table_is_averaged_over_the_trials(two_trials):
    _, runs, out = two_trials
    trials = [json.loads((runs / f'trial_{t}' / 'results.json').read_text()) for t in (1, 2)]
    average = json.loads((runs / 'average.json').read_text())
    for key in ('regdb/vis2ir/R1', 'regdb/vis2ir/mAP', 'regdb/ir2vis/mINP'):
        values = np.array([trial[key] for trial in trials])
        assert average[key] == pytest.approx(values.mean())
        assert average[key + '_std'] == pytest.approx(abs(values[0] - values[1]) / 2)
    assert 'mean ± std over 2 runs' in out
    assert f'averaged metrics written to {runs / "average.json"}' in out


def test_a_second_run_keeps_finished_trials_and_redoes_an_unfinished_one(two_trials, run_command):
    config, runs, _ = two_trials
    kept = (runs / 'trial_1' / 'results.json').read_text()
    (runs / 'trial_2' / 'results.json').unlink()  # as if stopped before trial 2's test ended
    out = regdb_trials(run_command, config, runs)
    assert 'trial 1: ' in out and 'exists, kept' in out.split('trial 2:')[0]
    assert (runs / 'trial_1' / 'results.json').read_text() == kept
    # trial 2 resumed from its finished training (no second epoch) and was tested again
    assert 'resumed epoch: 1' in out.split('trial 2:')[1]
    assert (runs / 'trial_2' / 'results.json').is_file()
    assert not (runs / 'trial_2' / 'epoch_2.pth').exists()
    assert (runs / 'average.json').is_file()


@pytest.mark.parametrize('arg', ['--work-dir', '--resume', '--launcher=pytorch'])
def test_options_the_script_sets_per_trial_are_refused_before_training(tmp_path, arg):
    result = subprocess.run(['bash', 'tools/regdb_trials.sh', 'configs/agw/agw_r50_regdb.py',
                             str(tmp_path / 'runs'), '--amp', arg, 'x'], cwd=ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 2
    assert f'{arg} is set per trial' in result.stderr
    assert not (tmp_path / 'runs').exists()


def test_average_runs_refuses_a_file_given_twice(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(sys, 'argv', ['average_runs.py', 'a.json', 'b.json', 'a.json'])
    with pytest.raises(SystemExit, match='a.json is given more than once'):
        runpy.run_path(str(ROOT / 'tools/analysis_tools/average_runs.py'), run_name='__main__')


@pytest.mark.slow
def test_a_trial_trains_on_two_processes_with_gpus_2(synthetic_root, tmp_path, run_command,
                                                     free_port):
    # GPUS=2 trains through tools/dist_train.sh (gloo on a machine without CUDA); the
    # test that follows is the single-process one, on the checkpoint rank 0 wrote
    config = tmp_path / 'agw_tiny_regdb.py'
    config.write_text(TINY_REGDB.format(base=str(ROOT / 'configs/agw/agw_r50_regdb.py'),
                                        root=str(synthetic_root / 'RegDB')))
    out = run_command(['bash', 'tools/regdb_trials.sh', config, tmp_path / 'runs',
                       '--no-validate'], env=dict(TRIALS='3', GPUS='2', PORT=str(free_port)))
    trial = tmp_path / 'runs' / 'trial_3'
    assert f'trial 3: training in {trial}' in out
    # the training's log: its timestamped folder comes before the test's
    log = sorted(trial.glob('*/*.log'))[0].read_text()
    # MMEngine's environment log of rank 0: two processes, one group
    assert 'Distributed training: True' in log and 'GPU number: 2' in log
    assert Config.fromfile(str(trial / 'agw_tiny_regdb.py')).train_dataloader.dataset.trial == 3
    results = json.loads((trial / 'results.json').read_text())
    assert 0 <= results['regdb/vis2ir/mAP'] <= 100
    # one trial: nothing to average
    assert not (tmp_path / 'runs' / 'average.json').exists()
