"""k-reciprocal re-ranking and query expansion, against hand-worked cases and
a straightforward loop implementation of the paper's definitions."""
import math

import numpy as np
import pytest
import torch

from vireid.evaluation import k_reciprocal_rerank, query_expansion


def pairwise(a, b):
    return np.abs(np.asarray(a, float)[:, None] - np.asarray(b, float)[None, :])


def loop_rerank(q_g, q_q, g_g, k1, k2, lam):
    """Zhong et al. 2017, written set by set."""
    num_q = len(q_q)
    d = np.block([[q_q, q_g], [q_g.T, g_g]]).astype(float)
    n = len(d)
    d = [[d[i][j] / max(d[i]) for j in range(n)] for i in range(n)]
    order = [sorted(range(n), key=lambda j, i=i: (d[i][j], j)) for i in range(n)]

    def neighbours(i, k):
        return set(order[i][:k + 1])

    def reciprocal(i, k):
        return {j for j in neighbours(i, k) if i in neighbours(j, k)}

    v = [[0.0] * n for _ in range(n)]
    for i in range(n):
        base = reciprocal(i, k1)
        support = set(base)
        for c in base:
            candidate = reciprocal(c, round(k1 / 2))
            if len(candidate & base) > 2 / 3 * len(candidate):
                support |= candidate
        total = sum(math.exp(-d[i][j]) for j in support)
        for j in support:
            v[i][j] = math.exp(-d[i][j]) / total
    if k2 > 1:
        v = [[sum(v[m][j] for m in order[i][:k2]) / k2 for j in range(n)]
             for i in range(n)]
    out = np.zeros(q_g.shape)
    for q in range(num_q):
        for g in range(q_g.shape[1]):
            p, r = v[q], v[num_q + g]
            common = sum(min(x, y) for x, y in zip(p, r))
            union = sum(max(x, y) for x, y in zip(p, r))
            out[q, g] = (1 - lam) * (1 - common / union) + lam * d[q][num_q + g]
    return out


@pytest.mark.parametrize('k1,k2,lam', [(4, 2, 0.3), (3, 1, 0.5), (6, 3, 0.0)])
def test_matches_loop_implementation(k1, k2, lam):
    rng = np.random.default_rng(k1)
    query, gallery = rng.normal(size=(5, 4)), rng.normal(size=(9, 4))

    def dist(a, b):
        return np.linalg.norm(a[:, None] - b[None], axis=2)

    q_g, q_q, g_g = dist(query, gallery), dist(query, query), dist(gallery, gallery)
    expected = loop_rerank(q_g, q_q, g_g, k1, k2, lam)
    got = k_reciprocal_rerank(q_g, q_q, g_g, k1=k1, k2=k2, lambda_value=lam)
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-12)
    # torch input gives the same
    got_torch = k_reciprocal_rerank(torch.from_numpy(q_g), torch.from_numpy(q_q),
                                    torch.from_numpy(g_g), k1=k1, k2=k2,
                                    lambda_value=lam)
    np.testing.assert_allclose(got_torch, expected, rtol=1e-9, atol=1e-12)


def test_fixes_a_rank1_error():
    # 1-D positions. The query (identity A) is nearest to the impostor x,
    # but x sits in identity B's tight cluster: x's 4 nearest (k1=3) are
    # x, b1, b2, b3, so q is not a k-reciprocal neighbour of x, while q is
    # among the 4 nearest of a1 and a2: R(q) = {q, a1, a2}. The expansion
    # sets R(a1, 2) = R(a2, 2) = {a1, a2, a3} share only 2 (not > 2/3 * 3)
    # with R(q), so q's support stays {q, a1, a2}; x's support lies in
    # {x, b1, b2, b3}: disjoint, Jaccard distance exactly 1.
    q = [0.0]
    a, x, b = [-1.0, -1.04, -1.1], [0.95], [1.3, 1.35, 1.4]
    gallery = x + a + b
    q_g, q_q, g_g = pairwise(q, gallery), pairwise(q, q), pairwise(gallery, gallery)
    assert np.argmin(q_g[0]) == 0  # plain ranking: the impostor first

    reranked = k_reciprocal_rerank(q_g, q_q, g_g, k1=3, k2=1, lambda_value=0.3)
    assert set(np.argsort(reranked[0])[:3]) == {1, 2, 3}  # a1, a2, a3 first
    # the impostor: 0.7 * 1 + 0.3 * d(q, x) / (q's farthest distance, 1.4)
    assert reranked[0, 0] == pytest.approx(0.7 + 0.3 * 0.95 / 1.4)


def test_lambda_one_returns_row_normalised_distances():
    q_g = np.array([[1.0, 4.0], [2.0, 3.0]])
    q_q = np.array([[0.0, 2.0], [2.0, 0.0]])
    g_g = np.array([[0.0, 5.0], [5.0, 0.0]])
    got = k_reciprocal_rerank(q_g, q_q, g_g, k1=1, k2=1, lambda_value=1.0)
    # each query row of [q_q | q_g] divided by its maximum (4 and 3)
    np.testing.assert_allclose(got, [[1 / 4, 1.0], [2 / 3, 1.0]])


def test_bad_input_is_named():
    q_g, q_q = np.ones((2, 3)), np.zeros((2, 2))
    with pytest.raises(ValueError, match='g_g_dist must have shape'):
        k_reciprocal_rerank(q_g, q_q, np.zeros((2, 2)))
    with pytest.raises(ValueError, match='q_g_dist holds negative'):
        k_reciprocal_rerank(-q_g, q_q, np.zeros((3, 3)))
    with pytest.raises(ValueError, match='lambda_value'):
        k_reciprocal_rerank(q_g, q_q, np.zeros((3, 3)), lambda_value=2)


def test_query_expansion_averages_the_top_k():
    query = torch.tensor([[1.0, 0.0, 0.0]])
    gallery = torch.tensor([[0.0, 1.0, 0.0],    # cos 0
                            [0.6, 0.8, 0.0],    # cos 0.6: the nearest
                            [0.0, 0.0, -1.0]])  # cos 0
    expanded = query_expansion(query, gallery, k=1)
    # (q + g1) / 2 = (0.8, 0.4, 0), normalised
    expected = torch.tensor([[0.8, 0.4, 0.0]]) / math.sqrt(0.8)
    torch.testing.assert_close(expanded, expected)
    # k larger than the gallery: everything is averaged in
    everything = query_expansion(query, gallery, k=10)
    total = query[0] + gallery.sum(0)
    torch.testing.assert_close(everything[0], total / total.norm())


# ---------------------------------------------------------------- metric
def _angle_sample(theta, pid, modality):
    from vireid.structures import ReIDDataSample
    sample = ReIDDataSample(metainfo=dict(pid=pid, camid=1 + modality,
                                          modality=modality, gt_label=-1,
                                          img_path=f'{pid}/{theta}.bmp'))
    sample.pred_feature = torch.tensor([math.cos(theta), math.sin(theta)])
    return sample


def _evaluate(**kwargs):
    from vireid.evaluation import VIReIDMetric
    # the 1-D layout of test_fixes_a_rank1_error as angles on the unit
    # circle (cosine distance grows with the angle, so every neighbour set
    # is the same): one visible query of id 1; infrared gallery: the
    # impostor x and b1..b3 (id 2), a1..a3 (id 1)
    scale = 0.3
    samples = [_angle_sample(0.0, 1, 0)]
    samples += [_angle_sample(scale * p, 1, 1) for p in (-1.0, -1.04, -1.1)]
    samples += [_angle_sample(scale * p, 2, 1) for p in (0.95, 1.3, 1.35, 1.4)]
    metric = VIReIDMetric(protocol='regdb', modes=['vis2ir'], device='cpu',
                          **kwargs)
    metric.process(None, samples)
    return metric.evaluate(len(samples))


def test_metric_reports_rerank_under_its_own_keys():
    plain = _evaluate()
    both = _evaluate(rerank=dict(k1=3, k2=1), query_expansion=dict(k=1))
    assert plain['regdb/vis2ir/R1'] == 0  # the impostor is nearest
    assert both['regdb/vis2ir+rerank/R1'] == pytest.approx(100)
    # plain numbers and the headline keys are untouched
    for key, value in plain.items():
        assert both[key] == value, key
    assert {'regdb/vis2ir+qe/mAP', 'regdb/vis2ir+qe+rerank/mAP'} <= set(both)
    # top-1 expansion pulls the query to the impostor: still wrong at rank 1
    assert both['regdb/vis2ir+qe/R1'] == 0


def test_metric_rejects_unknown_rerank_keys():
    from vireid.evaluation import VIReIDMetric
    with pytest.raises(ValueError, match=r"rerank: unknown keys \['k3'\]"):
        VIReIDMetric(rerank=dict(k3=2))


def test_sysu_rerank_on_separable_features_scores_100():
    from vireid.evaluation import VIReIDMetric
    from vireid.structures import ReIDDataSample
    samples = []
    for pid in range(1, 5):
        for cam in (1, 2, 3, 4, 5, 6):
            sample = ReIDDataSample(metainfo=dict(
                pid=pid, camid=cam, modality=int(cam in (3, 6)), gt_label=-1,
                img_path=f'cam{cam}/{pid:04d}/0001.jpg'))
            sample.pred_feature = torch.eye(6)[pid]
            samples.append(sample)
    metric = VIReIDMetric(protocol='sysu', modes=['all-single'], num_trials=2,
                          device='cpu', rerank=True, query_expansion=True)
    metric.process(None, samples)
    metrics = metric.evaluate(len(samples))
    for mode in ('all-single', 'all-single+qe', 'all-single+rerank',
                 'all-single+qe+rerank'):
        assert metrics[f'sysu/{mode}/R1'] == pytest.approx(100), mode
        assert metrics[f'sysu/{mode}/mAP'] == pytest.approx(100), mode
