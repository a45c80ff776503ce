"""The .npz results dump: round trip, plain arrays only, clear errors."""
import numpy as np
import pytest
import torch

from vireid.evaluation.results_dump import (dump_reid_results,
                                            load_reid_results)


def cached(num=5, dim=4):
    return [dict(feature=torch.arange(dim, dtype=torch.float32) + i,
                 pid=10 + i // 2, camid=1 + i % 3, modality=i % 2,
                 img_path=f'cam{1 + i % 3}/{10 + i // 2:04d}/é{i}.jpg')
            for i in range(num)]


def test_round_trip_keeps_every_sample_and_setting(tmp_path):
    path = tmp_path / 'sub' / 'results.npz'
    dump_reid_results(str(path), cached(), 'llcm', distance='euclidean',
                      sampling='official', perm_file='/kit/rand_perm_cam.mat',
                      num_shots=(1, 5), num_trials=4, llcm_vis2ir='visible-queries')
    results = load_reid_results(str(path))
    assert results.features.shape == (5, 4)
    np.testing.assert_array_equal(results.features[3], [3, 4, 5, 6])
    assert results.pid.tolist() == [10, 10, 11, 11, 12]
    assert results.camid.tolist() == [1, 2, 3, 1, 2]
    assert results.modality.tolist() == [0, 1, 0, 1, 0]
    assert results.img_path[4] == 'cam2/0012/é4.jpg'
    assert (results.protocol, results.distance, results.sampling) == (
        'llcm', 'euclidean', 'official')
    assert results.perm_file == '/kit/rand_perm_cam.mat'
    assert results.num_shots == (1, 5) and results.num_trials == 4
    assert results.llcm_vis2ir == 'visible-queries'
    # plain arrays: numpy opens it without pickle, strings as unicode
    with np.load(path, allow_pickle=False) as raw:
        assert raw['img_path'].dtype.kind == 'U'


def test_a_dump_from_before_the_llcm_vis2ir_setting_reads_as_the_rule_it_was_made_with(
        tmp_path):
    path = tmp_path / 'results.npz'
    dump_reid_results(str(path), cached(), 'llcm')
    assert load_reid_results(str(path)).llcm_vis2ir == 'deen'
    with np.load(path) as raw:
        older = {k: v for k, v in raw.items() if k != 'llcm_vis2ir'}
    np.savez(path, **older)
    # such a dump's metric ranked a drawn infrared gallery for every visible image
    assert load_reid_results(str(path)).llcm_vis2ir == 'visible-queries'


def test_only_npz_is_accepted(tmp_path):
    with pytest.raises(ValueError, match=r'results\.pkl.*\.npz'):
        dump_reid_results(str(tmp_path / 'results.pkl'), cached(), 'sysu')
    with pytest.raises(ValueError, match=r'\.npz'):
        load_reid_results(str(tmp_path / 'results.pkl'))


def test_bad_files_name_the_file_and_key(tmp_path):
    good = tmp_path / 'good.npz'
    dump_reid_results(str(good), cached(), 'sysu')
    with np.load(good) as raw:
        arrays = dict(raw)

    partial = tmp_path / 'partial.npz'
    np.savez(partial, **{k: v for k, v in arrays.items() if k != 'camid'})
    with pytest.raises(ValueError, match=r"partial\.npz.*'camid'"):
        load_reid_results(str(partial))

    short = tmp_path / 'short.npz'
    np.savez(short, **dict(arrays, pid=arrays['pid'][:3]))
    with pytest.raises(ValueError, match=r'short\.npz.*"pid" has shape'):
        load_reid_results(str(short))

    objects = tmp_path / 'objects.npz'
    np.savez(objects, **dict(arrays, img_path=np.array([{}] * 5)))
    with pytest.raises(ValueError, match=r'objects\.npz.*plain-array'):
        load_reid_results(str(objects))

    with pytest.raises(FileNotFoundError, match='absent.npz'):
        load_reid_results(str(tmp_path / 'absent.npz'))


def test_metric_dumps_what_it_processed_in_order(tmp_path):
    from vireid.evaluation import VIReIDMetric
    from vireid.structures import ReIDDataSample

    samples = []
    for i, (pid, cam, modality) in enumerate(
            [(1, 1, 0), (1, 3, 1), (2, 2, 0), (2, 6, 1), (1, 4, 0)]):
        sample = ReIDDataSample(metainfo=dict(pid=pid, camid=cam,
                                              modality=modality,
                                              img_path=f'img{i}.jpg'))
        sample.pred_feature = torch.tensor([float(i), 1.0])
        samples.append(sample)
    path = tmp_path / 'metric.npz'
    metric = VIReIDMetric(protocol='sysu', num_trials=2, device='cpu',
                          dump_path=str(path))
    metric.process(None, samples)
    metric.evaluate(len(samples))
    results = load_reid_results(str(path))
    assert results.img_path.tolist() == [f'img{i}.jpg' for i in range(5)]
    assert results.pid.tolist() == [1, 1, 2, 2, 1]
    assert results.camid.tolist() == [1, 3, 2, 6, 4]
    # the cached (un-normalised) features, as the model predicted them
    np.testing.assert_allclose(results.features[:, 0], [0, 1, 2, 3, 4])
    assert results.protocol == 'sysu' and results.num_trials == 2
