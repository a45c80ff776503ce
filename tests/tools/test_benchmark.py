import json
import runpy
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize('task', ['train', 'test'])
def test_benchmark_runs_on_cpu_with_tiny_settings(task, tmp_path, monkeypatch, capsys):
    out = tmp_path / 'bench.json'
    monkeypatch.setattr(sys, 'argv', [
        'benchmark.py', str(ROOT / 'configs/agw/agw_r18_synthetic.py'), '--task', task,
        '--iters', '2', '--warmup', '1', '--img-size', '32', '16', '--device', 'cpu',
        '--test-batch-size', '4', '--out', str(out), '--cfg-options',
        'train_dataloader.sampler.num_ids=2', 'train_dataloader.sampler.num_instances=1',
        'model.backbone.base_channels=8', 'model.head.in_channels=64']
        + ['--profile', '2', '--host-profile', '2'])
    runpy.run_path(str(ROOT / 'tools/analysis_tools/benchmark.py'), run_name='__main__')
    result = json.loads(out.read_text())
    names = [r['name'] for r in result['results']]
    assert len(names) == (2 if task == 'train' else 1)
    assert names[0].startswith('AGW')
    for r in result['results']:
        batch = 4
        # throughput is the batch over the median step time
        assert r['images_per_s'] == pytest.approx(batch / (r['ms_per_iter'] / 1e3))
        assert r['gflops_per_image'] > 0
    printed = capsys.readouterr().out
    assert 'img/s' in printed
    # no MFU on a CPU: its small matmul is no peak
    row = next(line for line in printed.splitlines() if line.startswith(names[0]))
    assert row.split()[-2] == '-' and '%' not in row
    profile = result['results'][0]['profile']
    times = [ms for _, ms, _ in profile['top']]
    # the costliest operators, costliest first, within the per-step total
    assert times == sorted(times, reverse=True) and 0 < sum(times) <= profile['device_ms']
    assert profile['kernels'] >= len(times)
    assert 'CPU operator time per step' in printed
    host = result['results'][0]['host_profile']
    host_times = [ms for _, ms, _ in host['top']]
    assert host['host_ms'] > 0 and host_times == sorted(host_times, reverse=True)
    # the breakdown reaches into the model: its step is among the costliest calls, once a step
    step_name = 'train_step' if task == 'train' else 'test_step'
    model_step = next(row for row in host['top'] if row[0].endswith(f'({step_name})'))
    assert model_step[2] == 1 and model_step[1] <= host['profiled_ms']
    assert 'host time per step, started on an idle device' in printed


@pytest.mark.parametrize('amp, printed_amp', [([], 'amp=False'),
                                               (['--amp', '--amp-dtype', 'float16'], 'amp=float16')])
def test_benchmark_fast_times_the_fast_training_path(tmp_path, monkeypatch, capsys, amp,
                                                     printed_amp):
    out = tmp_path / 'bench.json'
    monkeypatch.setattr(sys, 'argv', [
        'benchmark.py', str(ROOT / 'configs/agw/agw_r18_synthetic.py'), '--fast', '--no-yardstick',
        *amp,
        '--iters', '2', '--warmup', '1', '--img-size', '32', '16', '--device', 'cpu',
        '--out', str(out), '--cfg-options', 'train_dataloader.sampler.num_ids=2',
        'train_dataloader.sampler.num_instances=1', 'model.backbone.base_channels=8',
        'model.head.in_channels=64'])
    runpy.run_path(str(ROOT / 'tools/analysis_tools/benchmark.py'), run_name='__main__')
    printed = capsys.readouterr().out
    assert f'{printed_amp} compile=False channels_last=True cuda_graph=True fast=True' in printed
    assert json.loads(out.read_text())['results'][0]['ms_per_iter'] > 0


def test_benchmark_fast_loads_the_config_train_py_fast_builds():
    from mmengine.config import Config

    from vireid.utils.benchmark import load_config
    from vireid.utils.fast_path import use_fast_path
    config = str(ROOT / 'configs/agw/agw_r50_regdb.py')
    expected = Config.fromfile(config)
    use_fast_path(expected)
    loaded = load_config(config, fast=True)
    assert loaded.to_dict() == expected.to_dict()
    assert loaded.train_dataloader.dataset.pipeline[0].type == 'LoadReIDImageFromPack'


def test_benchmark_refuses_to_time_skipped_steps(tmp_path, monkeypatch):
    # a NaN loss makes every step a skipped one: timing them would measure no training
    monkeypatch.setattr(sys, 'argv', [
        'benchmark.py', str(ROOT / 'configs/agw/agw_r18_synthetic.py'), '--iters', '2',
        '--warmup', '1', '--img-size', '32', '16', '--device', 'cpu', '--no-yardstick',
        '--cfg-options', 'train_dataloader.sampler.num_ids=2',
        'train_dataloader.sampler.num_instances=1', 'model.backbone.base_channels=8',
        'model.head.in_channels=64', 'model.head.loss_cls.loss_weight=nan'])
    with pytest.raises(RuntimeError, match='3 optimizer updates in 3 benchmark steps were skipped for a non-finite'):
        runpy.run_path(str(ROOT / 'tools/analysis_tools/benchmark.py'), run_name='__main__')


@pytest.mark.gpu
def test_benchmark_host_profile_of_a_graphed_step_on_the_gpu(tmp_path, monkeypatch):
    out = tmp_path / 'bench.json'
    monkeypatch.setattr(sys, 'argv', [
        'benchmark.py', str(ROOT / 'configs/agw/agw_r18_synthetic.py'), '--amp', '--channels-last',
        '--cuda-graph', '--no-yardstick', '--iters', '3', '--warmup', '2', '--img-size', '64', '32',
        '--device', 'cuda', '--profile', '2', '--host-profile', '3', '--out', str(out),
        '--cfg-options', 'model.backbone.base_channels=8', 'model.head.in_channels=64'])
    runpy.run_path(str(ROOT / 'tools/analysis_tools/benchmark.py'), run_name='__main__')
    result = json.loads(out.read_text())['results'][0]
    host, profile = result['host_profile'], result['profile']
    assert host['host_ms'] > 0 and profile['device_ms'] > 0
    # the breakdown is of whole steps: the model's train_step, once each
    step = next(row for row in host['top'] if row[0].endswith('(train_step)'))
    assert step[2] == 1
