"""tools/test.py --dump and the analysis tools, run in-process on a tiny
untrained model's dump of the synthetic SYSU-MM01 test split."""
import csv
import json
import runpy
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from vireid.evaluation import eval_sysu, sysu_gallery_trial

ROOT = Path(__file__).resolve().parents[2]
TINY_CONFIG = """
_base_ = ['{base}']
model = dict(backbone=dict(base_channels=8),
             head=dict(in_channels=64, num_classes=19))
test_pipeline = [
    dict(type='LoadReIDImageFromFile'),
    dict(type='Resize', scale=(32, 64), keep_ratio=False),
    dict(type='PackReIDInputs'),
]
test_dataloader = dict(batch_size=32, num_workers=0, persistent_workers=False,
                       dataset=dict(data_root='{root}', pipeline=test_pipeline))
test_evaluator = dict(type='VIReIDMetric', num_trials=3, device='cpu')
"""


def run_tool(monkeypatch, script, *args):
    monkeypatch.setattr(sys, 'argv', [script, *map(str, args)])
    runpy.run_path(str(ROOT / script), run_name='__main__')


@pytest.fixture(scope='module')
def tested(synthetic_root, tmp_path_factory):
    """``(dump path, metrics json)`` of ``tools/test.py --untrained --dump``."""
    folder = tmp_path_factory.mktemp('tested')
    config = folder / 'tiny.py'
    config.write_text(TINY_CONFIG.format(
        base=ROOT / 'configs/agw/agw_r18_synthetic.py',
        root=synthetic_root / 'SYSU-MM01'))
    dump, metrics = folder / 'results.npz', folder / 'metrics.json'
    with pytest.MonkeyPatch.context() as patch:
        run_tool(patch, 'tools/test.py', config, '--untrained', '--work-dir',
                 folder / 'work', '--dump', dump, '--out', metrics)
    return dump, json.loads(metrics.read_text())


def independent_cmc(dump_path, trials, search='all', num_shots=1):
    """Mean SYSU CMC / mAP from the raw arrays: numpy distances, the
    evaluation's gallery sampling and eval_sysu."""
    with np.load(dump_path) as raw:
        feats = raw['features'] / np.linalg.norm(raw['features'], axis=1,
                                                 keepdims=True)
        pid, cam, mod, paths = (raw['pid'], raw['camid'], raw['modality'],
                                raw['img_path'])
    q, g = np.flatnonzero(mod == 1), np.flatnonzero(mod == 0)
    scores = []
    for t in range(trials):
        picked = g[sysu_gallery_trial(paths[g], pid[g], cam[g], t, search,
                                      num_shots)]
        dist = 1 - feats[q] @ feats[picked].T
        scores.append(eval_sysu(dist, pid[q], pid[picked], cam[q],
                                cam[picked]))
    return (np.mean([s[0] for s in scores], axis=0),
            np.mean([s[1] for s in scores]))


def test_test_py_dump_holds_every_test_image(tested, synthetic_root):
    from vireid.evaluation.results_dump import load_reid_results
    dump, metrics = tested
    results = load_reid_results(str(dump))
    images = sorted((synthetic_root / 'SYSU-MM01').glob(
        'cam[1-6]/00[0-9][0-9]/*.jpg'))
    test_ids = {int(i) for i in (synthetic_root / 'SYSU-MM01' / 'exp' /
                                 'test_id.txt').read_text().split(',')}
    expected = sorted(str(p) for p in images if int(p.parent.name) in test_ids)
    assert sorted(results.img_path.tolist()) == expected
    assert results.protocol == 'sysu' and results.num_trials == 3
    assert set(results.modality[results.camid == 3].tolist()) == {1}
    cmc, m_ap = independent_cmc(dump, 3)
    assert metrics['sysu/all-single/mAP'] == pytest.approx(m_ap * 100)
    assert metrics['sysu/all-single/R1'] == pytest.approx(cmc[0] * 100)


def test_test_py_refuses_a_pickle_dump(monkeypatch, tmp_path):
    with pytest.raises(SystemExit):
        run_tool(monkeypatch, 'tools/test.py',
                 ROOT / 'configs/agw/agw_r18_synthetic.py', '--untrained',
                 '--dump', tmp_path / 'results.pkl')


def test_plot_cmc_recomputes_eval_sysu(tested, monkeypatch, tmp_path):
    dump, _ = tested
    out, table = tmp_path / 'cmc.png', tmp_path / 'cmc.csv'
    run_tool(monkeypatch, 'tools/analysis_tools/plot_cmc.py', dump, dump,
             '--labels', 'first', 'second', '--mode', 'indoor-multi',
             '--max-rank', 10, '--out', out, '--csv', table)
    image = cv2.imread(str(out))
    assert image is not None and image.std() > 5
    with open(table) as f:
        rows = list(csv.DictReader(f))
    assert [int(r['rank']) for r in rows] == list(range(1, 11))
    cmc, _ = independent_cmc(dump, 3, 'indoor', 10)
    np.testing.assert_allclose([float(r['first']) for r in rows],
                               cmc[:10] * 100, atol=1e-3)
    assert [r['first'] for r in rows] == [r['second'] for r in rows]


def test_vis_ranked_list_grid(tested, monkeypatch, tmp_path):
    dump, _ = tested
    out, table = tmp_path / 'ranked.png', tmp_path / 'ranked.csv'
    num, topk, cell = 2, 3, (40, 20)
    run_tool(monkeypatch, 'tools/analysis_tools/vis_ranked_list.py', dump,
             '--out', out, '--num', num, '--topk', topk, '--cell', *cell,
             '--csv', table)
    image = cv2.imread(str(out))
    # draw_ranked_lists' layout: tiles of cell + 2 x 4 px frame + 14 px
    # caption, 6 px apart and around, one more gap after the query column
    tile_h, tile_w, gap = cell[0] + 8 + 14, cell[1] + 8, 6
    assert image.shape == (gap + 2 * num * (tile_h + gap),
                           gap + (1 + topk) * (tile_w + gap) + gap, 3)
    with open(table) as f:
        rows = list(csv.DictReader(f))
    queries = list(dict.fromkeys((r['group'], r['query']) for r in rows))
    # each gallery tile's frame is green for a match, red otherwise
    for r in rows:
        top = gap + queries.index((r['group'], r['query'])) * (tile_h + gap)
        left = gap + int(r['rank']) * (tile_w + gap) + gap
        _, green, red = (int(v) for v in image[top, left])
        assert (green > red) == bool(int(r['match']))
    assert [g for g, _ in queries] == ['best'] * num + ['worst'] * num
    ap = {q: float(r['AP']) for r in rows for q in [r['query']]}
    assert min(ap[q] for g, q in queries if g == 'best') >= max(
        ap[q] for g, q in queries if g == 'worst')
    for r in rows:
        assert int(r['match']) == (r['query_pid'] == r['gallery_pid'])
        if '/cam3/' in r['query']:
            assert '/cam2/' not in r['gallery']  # SYSU's same-room rule


def test_vis_features_panels(tested, monkeypatch, tmp_path):
    pytest.importorskip('sklearn')
    dump, _ = tested
    out = tmp_path / 'tsne.png'
    run_tool(monkeypatch, 'tools/analysis_tools/vis_features.py', dump, dump,
             '--feature', 'shared', 'specific', '--num-ids', 3, '--max-per-id', 6,
             '--out', out)
    image = cv2.imread(str(out))
    assert image is not None and image.std() > 5
    assert image.shape[1] > 1.5 * image.shape[0]
    with pytest.raises(SystemExit):
        run_tool(monkeypatch, 'tools/analysis_tools/vis_features.py', dump,
                 '--feature', 'a', 'b', '--out', out)


def write_run(work_dir, seconds):
    """A run's scalar log as MMEngine's LoggerHook writes it."""
    from mmengine.visualization import LocalVisBackend
    vis_data = work_dir / '20250101_000000' / 'vis_data'
    backend = LocalVisBackend(save_dir=str(vis_data))
    for step, time in enumerate(seconds, start=1):
        backend.add_scalars(dict(loss=1.0 / step, time=time, epoch=1,
                                 iter=step), step=step,
                            file_path='20250101_000000.json')
    backend.add_scalars(dict(mAP=12.5), step=1,
                        file_path='20250101_000000.json')
    return vis_data / '20250101_000000.json'


def test_analyze_logs(monkeypatch, tmp_path, capsys):
    first = write_run(tmp_path / 'agw', [0.2, 0.4])
    second = write_run(tmp_path / 'fmcnet', [1.0, 2.0, 3.0])
    out = tmp_path / 'curves.png'
    run_tool(monkeypatch, 'tools/analysis_tools/analyze_logs.py',
             'plot_curve', first, second, '--keys', 'loss', 'mAP', '--out',
             out)
    image = cv2.imread(str(out))
    assert image is not None and image.std() > 5
    assert image.shape[1] > 1.5 * image.shape[0]  # two panels
    run_tool(monkeypatch, 'tools/analysis_tools/analyze_logs.py',
             'cal_train_time', first, second)
    printed = capsys.readouterr().out
    assert 'average time per iteration: 0.3000 s' in printed
    assert 'average time per iteration: 2.0000 s' in printed
