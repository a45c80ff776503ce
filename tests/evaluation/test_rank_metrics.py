"""eval_sysu / eval_regdb / eval_llcm on hand-built rankings."""
import numpy as np
import pytest
import torch

from vireid.evaluation.functional import eval_llcm, eval_regdb, eval_sysu


def test_camera3_query_drops_camera2_gallery():
    # Gallery by distance: g0 (pid 1, cam 2), g1 (pid 2, cam 1),
    # g2 (pid 1, cam 1). The camera-3 query never sees g0, the camera-6
    # query does.
    dist = np.array([[0.1, 0.2, 0.3],
                     [0.1, 0.2, 0.3]])
    q_pids, q_cams = np.array([1, 1]), np.array([3, 6])
    g_pids, g_cams = np.array([1, 2, 1]), np.array([2, 1, 1])
    cmc, m_ap, m_inp = eval_sysu(dist, q_pids, g_pids, q_cams, g_cams,
                                 max_rank=3)
    # cam 3: kept list [pid 2, pid 1] -> first match at rank 2,
    #        AP = 1/2, INP = 1/2.
    # cam 6: positives at ranks 1 and 3 -> AP = (1/1 + 2/3) / 2 = 5/6,
    #        INP = 2/3.
    np.testing.assert_allclose(cmc, [0.5, 1.0, 1.0])
    assert m_ap == pytest.approx((1 / 2 + 5 / 6) / 2)
    assert m_inp == pytest.approx((1 / 2 + 2 / 3) / 2)


def test_identity_cmc_differs_from_image_cmc():
    # Ranked gallery pids: 2, 2, 3, 1. Image list: the match is 4th;
    # identity list [2, 3, 1]: the match is 3rd.
    dist = np.array([[0.1, 0.2, 0.3, 0.4]])
    g_pids, g_cams = np.array([2, 2, 3, 1]), np.array([1, 4, 5, 1])
    sysu = eval_sysu(dist, [1], g_pids, [6], g_cams, max_rank=5)
    regdb = eval_regdb(dist, [1], g_pids, max_rank=5)
    np.testing.assert_allclose(sysu[0], [0, 0, 1, 1, 1])
    np.testing.assert_allclose(regdb[0], [0, 0, 0, 1, 1])
    # mAP and mINP stay on the image list: one positive at rank 4.
    assert sysu[1] == pytest.approx(0.25) and regdb[1] == pytest.approx(0.25)
    assert sysu[2] == pytest.approx(0.25) and regdb[2] == pytest.approx(0.25)


def test_several_positives_ap_and_inp():
    # Ranked gallery pids: 1, 0, 1, 0, 0, 1 -> positives at ranks 1, 3, 6.
    dist = np.arange(6, dtype=np.float32)[None]
    g_pids = np.array([1, 0, 1, 0, 0, 1])
    cmc, m_ap, m_inp = eval_regdb(dist, [1], g_pids, max_rank=3)
    np.testing.assert_allclose(cmc, [1, 1, 1])
    assert m_ap == pytest.approx((1 / 1 + 2 / 3 + 3 / 6) / 3)
    assert m_inp == pytest.approx(3 / 6)


def test_queries_without_positive_are_skipped():
    dist = np.array([[0.3, 0.1], [0.2, 0.4]])
    g_pids = np.array([1, 2])
    alone = eval_regdb(dist[:1], [1], g_pids, max_rank=2)
    # The second query's pid 9 is not in the gallery: same numbers.
    both = eval_regdb(dist, [1, 9], g_pids, max_rank=2)
    np.testing.assert_allclose(alone[0], [0, 1])
    np.testing.assert_allclose(both[0], alone[0])
    assert alone[1:] == pytest.approx((0.5, 0.5))
    assert both[1:] == pytest.approx(alone[1:])
    with pytest.raises(ValueError, match='no query has a true match'):
        eval_regdb(dist, [8, 9], g_pids)


def test_removal_can_leave_no_positive():
    # The only positive is in camera 2, which a camera-3 query cannot see.
    dist = np.array([[0.1, 0.2], [0.1, 0.2]])
    out = eval_sysu(dist, [1, 1], [1, 2], [3, 6], [2, 1], max_rank=2)
    np.testing.assert_allclose(out[0], [1, 1])  # only the cam-6 query counts
    assert out[1] == pytest.approx(1.0)


def test_llcm_drops_same_identity_same_camera_only():
    # Gallery: g0 (pid 1, cam 2) 0.1, g1 (pid 3, cam 2) 0.2,
    # g2 (pid 1, cam 4) 0.3; query pid 1 from camera 2.
    dist = np.array([[0.1, 0.2, 0.3]])
    g_pids, g_cams = np.array([1, 3, 1]), np.array([2, 2, 4])
    cmc, m_ap, m_inp = eval_llcm(dist, [1], g_pids, [2], g_cams, max_rank=2)
    # g0 removed, g1 kept although it shares the camera: match at rank 2.
    np.testing.assert_allclose(cmc, [0, 1])
    assert (m_ap, m_inp) == pytest.approx((0.5, 0.5))
    # SYSU's rule removes nothing for a camera-2 query: match at rank 1.
    assert eval_sysu(dist, [1], g_pids, [2], g_cams, 2)[0][0] == 1


def test_ties_keep_gallery_column_order():
    dist = np.array([[0.5, 0.5]])
    assert eval_regdb(dist, [1], [2, 1], max_rank=1)[0][0] == 0
    assert eval_regdb(dist, [1], [1, 2], max_rank=1)[0][0] == 1


def test_cmc_has_max_rank_entries_for_a_short_gallery():
    cmc, _, _ = eval_regdb(np.array([[0.2, 0.1]]), [1], [1, 2], max_rank=5)
    np.testing.assert_allclose(cmc, [0, 1, 1, 1, 1])
    assert cmc.dtype == np.float64


def _plain_loop(dist, q_pids, g_pids, q_cams, g_cams, rule, max_rank):
    """The protocols written query by query, as the published code does."""
    cmcs, aps, inps = [], [], []
    for i in range(len(q_pids)):
        order = np.argsort(dist[i], kind='stable')
        if rule == 'sysu':
            keep = ~((q_cams[i] == 3) & (g_cams[order] == 2))
        elif rule == 'llcm':
            keep = ~((g_pids[order] == q_pids[i])
                     & (g_cams[order] == q_cams[i]))
        else:
            keep = np.ones(len(order), bool)
        ranked = g_pids[order][keep]
        hits = ranked == q_pids[i]
        if not hits.any():
            continue
        if rule == 'regdb':
            first = np.argmax(hits) + 1
        else:
            seen = []
            for pid in ranked:
                if pid not in seen:
                    seen.append(pid)
            first = seen.index(q_pids[i]) + 1
        cmcs.append([float(first <= k) for k in range(1, max_rank + 1)])
        ranks = np.flatnonzero(hits) + 1
        aps.append(np.mean(np.arange(1, len(ranks) + 1) / ranks))
        inps.append(len(ranks) / ranks[-1])
    return np.mean(cmcs, axis=0), np.mean(aps), np.mean(inps)


@pytest.mark.parametrize('rule', ['sysu', 'llcm', 'regdb'])
def test_batched_equals_plain_loop_with_ties(rule):
    rng = np.random.default_rng(7)
    num_q, num_g = 60, 90
    dist = rng.integers(0, 12, (num_q, num_g)).astype(np.float32)  # ties
    q_pids, g_pids = rng.integers(0, 9, num_q), rng.integers(0, 9, num_g)
    q_cams, g_cams = rng.choice([2, 3, 6], num_q), rng.integers(1, 7, num_g)
    expected = _plain_loop(dist, q_pids, g_pids, q_cams, g_cams, rule, 10)
    if rule == 'regdb':
        got = eval_regdb(dist, q_pids, g_pids, 10)
    else:
        fn = eval_sysu if rule == 'sysu' else eval_llcm
        got = fn(dist, q_pids, g_pids, q_cams, g_cams, 10)
    np.testing.assert_allclose(got[0], expected[0])
    assert got[1:] == pytest.approx(expected[1:])


def test_torch_and_numpy_inputs_agree():
    rng = np.random.default_rng(3)
    dist = rng.random((20, 30))
    q_pids, g_pids = rng.integers(0, 5, 20), rng.integers(0, 5, 30)
    q_cams, g_cams = rng.choice([3, 6], 20), rng.integers(1, 6, 30)
    from_numpy = eval_sysu(dist, q_pids, g_pids, q_cams, g_cams)
    from_torch = eval_sysu(torch.from_numpy(dist).float(),
                           torch.from_numpy(q_pids), torch.from_numpy(g_pids),
                           torch.from_numpy(q_cams), torch.from_numpy(g_cams))
    np.testing.assert_allclose(from_torch[0], from_numpy[0])
    assert from_torch[1:] == pytest.approx(from_numpy[1:])


@pytest.mark.gpu
def test_cuda_matches_cpu():
    rng = np.random.default_rng(4)
    dist = torch.from_numpy(rng.random((40, 50))).float()
    q_pids, g_pids = rng.integers(0, 6, 40), rng.integers(0, 6, 50)
    q_cams, g_cams = rng.choice([3, 6], 40), rng.integers(1, 6, 50)
    cpu = eval_sysu(dist, q_pids, g_pids, q_cams, g_cams)
    gpu = eval_sysu(dist.cuda(), q_pids, g_pids, q_cams, g_cams)
    np.testing.assert_allclose(gpu[0], cpu[0])
    assert gpu[1:] == pytest.approx(cpu[1:])


@pytest.mark.parametrize('kwargs, message', [
    (dict(distmat=np.zeros(3), q_pids=[1], g_pids=[1]), '2-D'),
    (dict(distmat=np.zeros((1, 2)), q_pids=[1], g_pids=[1]), 'g_pids'),
    (dict(distmat=np.zeros((1, 1)), q_pids=[1.5], g_pids=[1]), 'integers'),
    (dict(distmat=np.full((1, 1), np.nan), q_pids=[1], g_pids=[1]), 'NaN'),
])
def test_bad_input_is_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        eval_regdb(**kwargs)


def test_chunked_rows_give_the_same_answer(monkeypatch):
    import vireid.evaluation.functional.rank_metrics as rank_metrics
    rng = np.random.default_rng(9)
    dist = rng.random((50, 40)).astype(np.float32)
    q_pids, g_pids = rng.integers(0, 6, 50), rng.integers(0, 6, 40)
    q_cams, g_cams = rng.choice([3, 6], 50), rng.integers(1, 6, 40)
    whole = eval_sysu(dist, q_pids, g_pids, q_cams, g_cams)
    monkeypatch.setattr(rank_metrics, '_CHUNK_ELEMENTS', 7 * 40)  # 8 chunks
    chunked = eval_sysu(dist, q_pids, g_pids, q_cams, g_cams)
    np.testing.assert_allclose(chunked[0], whole[0])
    assert chunked[1:] == pytest.approx(whole[1:])
    expected = _plain_loop(dist, q_pids, g_pids, q_cams, g_cams, 'sysu', 20)
    np.testing.assert_allclose(chunked[0], expected[0])
