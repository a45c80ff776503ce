"""VIReIDMetric end to end: process() on data samples, evaluate(size)."""
import numpy as np
import pytest
import torch

from vireid.evaluation import VIReIDMetric
from vireid.registry import METRICS
from vireid.structures import INFRARED, VISIBLE, ReIDDataSample

SYSU_PIDS = (1, 2, 3, 4, 5, 6)


def _sample(feature, pid, camid, modality, path):
    sample = ReIDDataSample(metainfo=dict(pid=pid, camid=camid,
                                          modality=modality, img_path=path,
                                          gt_label=-1))
    sample.pred_feature = torch.as_tensor(feature, dtype=torch.float32)
    return sample


def sysu_samples(query_feature, gallery_feature, per_cam=3, per_ir_cam=2):
    """Test ids SYSU_PIDS: ``per_cam`` RGB images in cams 1, 2, 4, 5 and
    ``per_ir_cam`` IR images in cams 3, 6 each."""
    samples = []
    for pid in SYSU_PIDS:
        for cam in (1, 2, 3, 4, 5, 6):
            infrared = cam in (3, 6)
            for n in range(1, (per_ir_cam if infrared else per_cam) + 1):
                feature = (query_feature if infrared else gallery_feature)(pid)
                samples.append(_sample(
                    feature, pid, cam, INFRARED if infrared else VISIBLE,
                    f'cam{cam}/{pid:04d}/{n:04d}.jpg'))
    return samples


def one_hot(pid, dim=8):
    return np.eye(dim)[pid]


def run_metric(metric, samples, batch=5):
    for start in range(0, len(samples), batch):
        metric.process(None, samples[start:start + batch])
    return metric.evaluate(len(samples))


def test_registered_and_separable_features_score_100():
    metric = METRICS.build(dict(type='VIReIDMetric', num_trials=3,
                                device='cpu'))
    metric.dataset_meta = dict(protocol='sysu')
    metrics = run_metric(metric, sysu_samples(one_hot, one_hot))
    for mode in ('all-single', 'all-multi', 'indoor-single', 'indoor-multi'):
        for name in ('R1', 'R5', 'R10', 'R20', 'mAP', 'mINP'):
            assert metrics[f'sysu/{mode}/{name}'] == pytest.approx(100)
            assert metrics[f'sysu/{mode}/{name}_std'] == pytest.approx(0)
    assert metrics['R1'] == metrics['mAP'] == pytest.approx(100)


def test_sysu_known_ranking():
    # Each query (pid p) is closest to pid p-1's images, then to its own,
    # then to every other id (tied). Identity list: [p-1, p, ...] -> the
    # match is always 2nd. Single-shot all-search gallery: one image per id
    # and camera 1, 2, 4, 5.
    #   cam-6 query: 4 images of p-1, then p's 4 -> positives at ranks 5..8
    #   cam-3 query: camera 2 removed -> 3 + 3 -> positives at ranks 4..6
    def query(pid):
        prev = (pid - 2) % len(SYSU_PIDS) + 1
        return 2 * one_hot(prev) + one_hot(pid)

    metric = VIReIDMetric(protocol='sysu', modes=['all-single'], num_trials=2,
                          device='cpu')
    metrics = run_metric(metric, sysu_samples(query, one_hot))
    ap_cam6 = (1 / 5 + 2 / 6 + 3 / 7 + 4 / 8) / 4
    ap_cam3 = (1 / 4 + 2 / 5 + 3 / 6) / 3
    assert metrics['sysu/all-single/R1'] == pytest.approx(0)
    assert metrics['sysu/all-single/R5'] == pytest.approx(100)
    assert metrics['sysu/all-single/mAP'] == pytest.approx(
        100 * (ap_cam6 + ap_cam3) / 2)
    assert metrics['sysu/all-single/mINP'] == pytest.approx(50)  # 4/8, 3/6
    assert metrics['mAP'] == metrics['sysu/all-single/mAP']
    assert not any(key.startswith('sysu/all-multi') for key in metrics)


def cross_samples(query_feature=one_hot, gallery_feature=one_hot,
                  num_ids=5, vis_cams=(1, 2), ir_cams=(1, 3), per_cam=2):
    """``query_feature`` makes the infrared, ``gallery_feature`` the visible
    embeddings."""
    samples = []
    for pid in range(1, num_ids + 1):
        for modality, cams in ((VISIBLE, vis_cams), (INFRARED, ir_cams)):
            make = gallery_feature if modality == VISIBLE else query_feature
            for cam in cams:
                for n in range(per_cam):
                    samples.append(_sample(
                        make(pid), pid, cam, modality,
                        f'{modality}/cam{cam}/{pid:04d}/{n:04d}.bmp'))
    return samples


@pytest.mark.parametrize('protocol', ['regdb', 'llcm'])
def test_cross_modal_protocols_both_directions(protocol):
    metric = VIReIDMetric(num_trials=4, device='cpu')
    metric.dataset_meta = dict(protocol=protocol)
    metrics = run_metric(metric, cross_samples())
    for mode in ('vis2ir', 'ir2vis'):
        assert metrics[f'{protocol}/{mode}/R1'] == pytest.approx(100)
        assert metrics[f'{protocol}/{mode}/mAP'] == pytest.approx(100)
    headline = 'vis2ir' if protocol == 'regdb' else 'ir2vis'
    assert metrics['R1'] == metrics[f'{protocol}/{headline}/R1']


def test_regdb_directions_use_the_right_query_set():
    # Two ids, one image each way: visible v1 = e1, v2 = e2; infrared
    # i1 = e1, i2 = (e1 + e2 / 2) / |.|: cos(i2, v1) = 0.894 > cos(i2, v2).
    # ir2vis: i1 -> v1 right; i2 -> v1 wrong, v2 2nd: R1 50, mAP (1+1/2)/2.
    # vis2ir: v1 -> i1 (1.0 > 0.894) right; v2 -> i2 (0.447 > 0) right.
    def infrared(pid):
        return one_hot(1) if pid == 1 else one_hot(1) + 0.5 * one_hot(2)

    metric = VIReIDMetric(protocol='regdb', device='cpu')
    metrics = run_metric(metric, cross_samples(
        infrared, num_ids=2, vis_cams=(1,), ir_cams=(2,), per_cam=1))
    assert metrics['regdb/ir2vis/R1'] == pytest.approx(50)
    assert metrics['regdb/ir2vis/mAP'] == pytest.approx(75)
    assert metrics['regdb/vis2ir/R1'] == pytest.approx(100)
    assert metrics['regdb/vis2ir/mAP'] == pytest.approx(100)
    assert metrics['R1'] == pytest.approx(100)  # headline: visible to thermal


def test_llcm_gallery_is_sampled_per_trial():
    # Noisy visible images: which image of an id/camera a trial draws
    # changes the ranking, so the trials' mAP must spread.
    rng = np.random.default_rng(0)

    def noisy(pid):
        return one_hot(pid) + 0.8 * rng.standard_normal(8)

    metric = VIReIDMetric(protocol='llcm', modes=['ir2vis'], num_trials=5,
                          device='cpu')
    metrics = run_metric(metric, cross_samples(noisy, noisy, per_cam=3))
    assert 0 < metrics['llcm/ir2vis/mINP'] <= 100
    assert metrics['llcm/ir2vis/mAP_std'] > 0
    assert 'llcm/vis2ir/R1' not in metrics


def llcm_two_ids():
    """Infrared i1 = e1, i2 = e2 (camera 2); visible (camera 1) of id 1: e1 and
    e2, of id 2: (e1 / 2 + e2) / |.|."""
    mixed = (0.5 * one_hot(1) + one_hot(2)) / np.sqrt(1.25)
    rows = [(one_hot(1), 1, 2, INFRARED), (one_hot(2), 2, 2, INFRARED),
            (one_hot(1), 1, 1, VISIBLE), (one_hot(2), 1, 1, VISIBLE), (mixed, 2, 1, VISIBLE)]
    return [_sample(f, pid, cam, modality, f'{modality}/cam{cam}/{pid:04d}/{n:04d}.jpg')
            for n, (f, pid, cam, modality) in enumerate(rows)]


def test_llcm_vis2ir_ranks_the_visible_set_for_drawn_infrared_images_as_deen_measured():
    # i1: v1a (1.0), mixed (0.447, id 2), v1b (0): right at rank 1; AP (1 + 2/3) / 2,
    #     INP 2/3. i2: v1b (1.0, id 1), mixed (0.894): identity rank 2; AP 1/2,
    #     INP 1/2.
    metric = VIReIDMetric(protocol='llcm', modes=['vis2ir'], num_trials=3, device='cpu')
    metrics = run_metric(metric, llcm_two_ids())
    assert metrics['llcm/vis2ir/R1'] == pytest.approx(50)
    assert metrics['llcm/vis2ir/R5'] == pytest.approx(100)
    assert metrics['llcm/vis2ir/mAP'] == pytest.approx(100 * (5 / 6 + 1 / 2) / 2)
    assert metrics['llcm/vis2ir/mINP'] == pytest.approx(100 * (2 / 3 + 1 / 2) / 2)
    # re-ranking and query expansion work on the drawn queries too
    metric = VIReIDMetric(protocol='llcm', modes=['vis2ir'], num_trials=2, device='cpu',
                          rerank=dict(k1=2, k2=1), query_expansion=dict(k=1))
    expanded = run_metric(metric, llcm_two_ids())
    assert {'llcm/vis2ir+rerank/R1', 'llcm/vis2ir+qe/R1', 'llcm/vis2ir+qe+rerank/R1'} <= set(expanded)
    # query expansion over the one nearest visible image of each drawn query changes nothing here
    assert expanded['llcm/vis2ir+qe/mAP'] == pytest.approx(metrics['llcm/vis2ir/mAP'])


def test_llcm_vis2ir_with_visible_queries_ranks_the_drawn_infrared_gallery():
    # v1a -> i1 right; v1b (e2) -> i2 first, i1 second: AP 1/2; mixed -> i2 right
    metric = VIReIDMetric(protocol='llcm', modes=['vis2ir'], num_trials=3, device='cpu',
                          llcm_vis2ir='visible-queries')
    metrics = run_metric(metric, llcm_two_ids())
    assert metrics['llcm/vis2ir/R1'] == pytest.approx(100 * 2 / 3)
    assert metrics['llcm/vis2ir/mAP'] == pytest.approx(100 * (1 + 1 / 2 + 1) / 3)
    with pytest.raises(ValueError, match=r"llcm_vis2ir must be one of \('deen', "
                                         r"'visible-queries'\), got 'deen2'"):
        VIReIDMetric(llcm_vis2ir='deen2')


def test_protocol_argument_overrides_dataset_meta():
    metric = VIReIDMetric(protocol='regdb', device='cpu')
    metric.dataset_meta = dict(protocol='sysu')
    metrics = run_metric(metric, cross_samples())
    assert 'regdb/vis2ir/R1' in metrics


def test_errors_are_clear():
    with pytest.raises(ValueError, match='protocol'):
        run_metric(VIReIDMetric(device='cpu'), cross_samples())
    with pytest.raises(ValueError, match='not sysu modes'):
        run_metric(VIReIDMetric(protocol='sysu', modes=['vis2ir'],
                                device='cpu'), sysu_samples(one_hot, one_hot))
    with pytest.raises(ValueError, match='perm_file'):
        VIReIDMetric(sampling='official')
    with pytest.raises(ValueError, match='ranks'):
        VIReIDMetric(ranks=(1, 30), max_rank=20)
    metric = VIReIDMetric(protocol='regdb')
    with pytest.raises(ValueError, match='pred_feature'):
        metric.process(None, [ReIDDataSample(metainfo=dict(
            pid=1, camid=1, modality=0, img_path='a.bmp'))])


def test_euclidean_and_cosine_rank_alike_on_unit_features():
    rng = np.random.default_rng(5)

    def feature(pid):
        return one_hot(pid) + 0.7 * rng.standard_normal(8)

    samples = sysu_samples(feature, feature)
    out = []
    for distance in ('cosine', 'euclidean'):
        metric = VIReIDMetric(protocol='sysu', modes=['all-single'],
                              num_trials=2, distance=distance, device='cpu')
        out.append(run_metric(metric, samples))
    assert out[0]['sysu/all-single/mAP'] == pytest.approx(
        out[1]['sysu/all-single/mAP'])
