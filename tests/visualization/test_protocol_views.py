"""Numbers recomputed from a dump equal the metric's; ranked lists follow
the protocols' removal rules."""
import numpy as np
import pytest

from vireid.evaluation.metrics import PROTOCOL_MODES
from vireid.evaluation.results_dump import load_reid_results
from vireid.visualization.protocol_views import (evaluate_view, mean_cmc,
                                                 per_query_ap, ranked_gallery,
                                                 trial_view)


@pytest.mark.parametrize('protocol', ['sysu', 'regdb', 'llcm'])
def test_recomputed_scores_equal_the_metric(result_dumps, protocol):
    path, metrics = result_dumps[protocol]
    results = load_reid_results(str(path))
    for mode in PROTOCOL_MODES[protocol]:
        scores = mean_cmc(results, mode)
        for rank in (1, 5, 10, 20):
            assert scores['cmc'][rank - 1] * 100 == pytest.approx(
                metrics[f'{protocol}/{mode}/R{rank}'])
        assert scores['mAP'] * 100 == pytest.approx(
            metrics[f'{protocol}/{mode}/mAP'])
        assert scores['mINP'] * 100 == pytest.approx(
            metrics[f'{protocol}/{mode}/mINP'])


@pytest.mark.parametrize('protocol,mode', [('sysu', 'indoor-single'),
                                           ('regdb', 'ir2vis'),
                                           ('llcm', 'vis2ir')])
def test_per_query_ap_averages_to_the_trial_map(result_dumps, protocol, mode):
    results = load_reid_results(str(result_dumps[protocol][0]))
    view = trial_view(results, mode, trial=results.num_trials - 1
                      if protocol != 'regdb' else 0)
    ap = per_query_ap(results, view)
    assert np.nanmean(ap) == pytest.approx(evaluate_view(results, view)[1])


def _ap(matches):
    """AP of a 0/1 ranked list, from the definition."""
    hits = np.flatnonzero(matches)
    return np.mean((np.arange(len(hits)) + 1) / (hits + 1))


def test_sysu_ranked_lists_drop_camera_2_for_camera_3_queries(result_dumps):
    results = load_reid_results(str(result_dumps['sysu'][0]))
    view = trial_view(results, 'all-multi', 0)
    g_cams = results.camid[view.gallery]
    assert set(g_cams.tolist()) == {1, 2, 4, 5}
    ap = per_query_ap(results, view)
    seen_cam2 = False
    for row, q in enumerate(view.query):
        ranked, dists = ranked_gallery(results, view, row, topk=1000)
        cams = results.camid[ranked]
        assert np.all(np.diff(dists) >= 0)
        if results.camid[q] == 3:
            assert 2 not in cams and len(ranked) == np.sum(g_cams != 2)
        else:
            assert len(ranked) == len(view.gallery)
            seen_cam2 |= 2 in cams
        # the full kept list gives the query's AP by the definition
        matches = results.pid[ranked] == results.pid[q]
        if matches.any():
            assert _ap(matches) == pytest.approx(ap[row])
        else:
            assert np.isnan(ap[row])
    assert seen_cam2  # camera-6 queries still see camera 2


def test_llcm_ranked_lists_drop_same_person_same_camera(result_dumps):
    results = load_reid_results(str(result_dumps['llcm'][0]))
    view = trial_view(results, 'ir2vis', 1)
    for row, q in enumerate(view.query):
        ranked, _ = ranked_gallery(results, view, row, topk=1000)
        same = ((results.pid[ranked] == results.pid[q])
                & (results.camid[ranked] == results.camid[q]))
        assert not same.any()


def test_llcm_vis2ir_views_rank_the_visible_set_for_each_drawn_infrared_image(result_dumps):
    results = load_reid_results(str(result_dumps['llcm'][0]))
    assert results.llcm_vis2ir == 'deen'
    infrared = np.flatnonzero(results.modality == 1)
    pairs = {(p, c) for p, c in zip(results.pid[infrared], results.camid[infrared])}
    views = [trial_view(results, 'vis2ir', t) for t in (0, 1)]
    for view in views:
        assert set(results.modality[view.query].tolist()) == {1}
        assert len(view.query) == len(pairs)  # one per id and camera
        np.testing.assert_array_equal(view.gallery, np.flatnonzero(results.modality == 0))
    assert not np.array_equal(views[0].query, views[1].query)  # drawn per trial


def test_unknown_mode_and_trial_are_named(result_dumps):
    results = load_reid_results(str(result_dumps['regdb'][0]))
    with pytest.raises(ValueError, match="'all-single' is not a regdb mode"):
        trial_view(results, 'all-single')
    with pytest.raises(ValueError, match='trial 1 is out of range'):
        trial_view(results, 'vis2ir', 1)
