"""The picture helpers write real images that show what they should."""
import sys

import cv2
import numpy as np
import pytest

from vireid.visualization.cmc_curves import plot_cmc_curves
from vireid.visualization.log_curves import (load_scalar_log, plot_log_curves,
                                             series, train_time_summary)
from vireid.visualization.tsne import plot_tsne_panels, tsne_embed


def read_nonblank(path):
    image = cv2.imread(str(path))
    assert image is not None, f'{path} is not an image'
    assert image.std() > 5  # not a blank canvas
    return image


def test_cmc_plot_is_written(tmp_path):
    out = tmp_path / 'cmc.png'
    plot_cmc_curves({'a': np.linspace(0.3, 1, 20), 'b': np.full(20, 0.5)},
                    str(out), title='sysu all-single')
    image = read_nonblank(out)
    assert image.shape[1] > image.shape[0] > 200
    with pytest.raises(ValueError, match='no curves'):
        plot_cmc_curves({}, str(out))


def test_tsne_keeps_separated_identities_apart(tmp_path):
    pytest.importorskip('sklearn')
    rng = np.random.default_rng(0)
    pids = np.repeat([1, 2, 3], 10)
    centres = rng.normal(size=(4, 32)) * 10
    features = centres[pids] + rng.normal(size=(30, 32)) * 0.1
    points = tsne_embed(features, seed=0)
    assert points.shape == (30, 2)
    # every point's nearest neighbour in the map is of its own identity
    d = np.linalg.norm(points[:, None] - points[None], axis=2)
    np.fill_diagonal(d, np.inf)
    assert np.all(pids[d.argmin(axis=1)] == pids)

    out = tmp_path / 'tsne.png'
    plot_tsne_panels([('shared', points), ('specific', points[::-1])],
                     pids, np.tile([0, 1], 15), str(out))
    image = read_nonblank(out)
    assert image.shape[1] > 1.5 * image.shape[0]  # two panels side by side


def test_tsne_without_scikit_learn_names_the_package(monkeypatch):
    monkeypatch.setitem(sys.modules, 'sklearn.manifold', None)
    with pytest.raises(ImportError, match='scikit-learn'):
        tsne_embed(np.ones((8, 4)))


def write_log(path, iters_per_epoch=3, epochs=2, base_time=0.5):
    """A real MMEngine scalar log: what LoggerHook writes via the
    visualizer's LocalVisBackend."""
    from mmengine.visualization import LocalVisBackend
    backend = LocalVisBackend(save_dir=str(path.parent))
    step = 0
    for epoch in range(1, epochs + 1):
        for _ in range(iters_per_epoch):
            step += 1
            backend.add_scalars(dict(lr=0.1, loss=10.0 / step, data_time=0.01,
                                     time=base_time * epoch, epoch=epoch,
                                     iter=step), step=step,
                                file_path=path.name)
        backend.add_scalars({'mAP': 20.0 * epoch, 'R1': 25.0 * epoch,
                             'time': 9.0}, step=epoch, file_path=path.name)
    return path


def test_log_curves_and_train_time(tmp_path):
    log = write_log(tmp_path / 'vis_data' / 'run.json')
    records = load_scalar_log(str(log))
    assert len(records) == 8
    steps, values, train = series(records, 'loss')
    assert train and steps.tolist() == [1, 2, 3, 4, 5, 6]
    assert values[-1] == pytest.approx(10 / 6)
    steps, values, train = series(records, 'mAP')
    assert not train and steps.tolist() == [1, 2] and values.tolist() == [20, 40]
    # 'time' is in both kinds of line: the training one is meant
    assert series(records, 'time')[1].tolist() == [0.5] * 3 + [1.0] * 3

    summary = train_time_summary(records)
    assert summary['mean_s_per_iter'] == pytest.approx(0.75)
    assert summary['slowest_epoch'] == 2 and summary['fastest_epoch'] == 1
    assert summary['last_iter'] == 6

    out = tmp_path / 'curves.png'
    plot_log_curves({'a': records, 'b': records[:4]}, ['loss', 'mAP'],
                    str(out))
    image = read_nonblank(out)
    assert image.shape[1] > 1.5 * image.shape[0]
    with pytest.raises(ValueError, match="'acc' is in none of the logs"):
        plot_log_curves({'a': records}, ['acc'], str(out))


def test_bad_log_line_is_named(tmp_path):
    log = tmp_path / 'bad.json'
    log.write_text('{"loss": 1, "iter": 1, "step": 1}\n{"loss": \n')
    with pytest.raises(ValueError, match=r'bad\.json, line 2'):
        load_scalar_log(str(log))
