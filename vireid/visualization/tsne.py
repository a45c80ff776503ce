"""t-SNE maps of ReID features: colour = identity, marker = modality (the
papers' Figs. 4-5 style), one panel per feature kind."""
from typing import Sequence, Tuple

import numpy as np
from matplotlib import colormaps
from matplotlib.lines import Line2D

from vireid.structures import INFRARED, VISIBLE
from .figures import new_figure, save_figure

MODALITY_MARKERS = {VISIBLE: ('o', 'visible'), INFRARED: ('^', 'infrared')}


def tsne_embed(features: np.ndarray, seed: int = 0,
               perplexity: float = 30.0) -> np.ndarray:
    """2-D t-SNE of L2-normalised ``features`` (scikit-learn's ``TSNE``).

    The perplexity is lowered to ``(n - 1) / 3`` for small sets, which
    scikit-learn otherwise refuses.
    """
    try:
        from sklearn.manifold import TSNE
    except ImportError as err:
        raise ImportError(
            't-SNE needs the optional package scikit-learn: pip install '
            'scikit-learn (or pip install -r requirements/optional.txt)'
        ) from err
    features = np.asarray(features, dtype=np.float32)
    if len(features) < 4:
        raise ValueError(f't-SNE needs at least 4 samples, got '
                         f'{len(features)}')
    features = features / np.maximum(
        np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    perplexity = min(perplexity, (len(features) - 1) / 3)
    return TSNE(n_components=2, perplexity=perplexity, init='pca',
                random_state=seed).fit_transform(features)


def plot_tsne_panels(panels: Sequence[Tuple[str, np.ndarray]],
                     pids: np.ndarray, modalities: np.ndarray,
                     out_file: str) -> str:
    """One scatter per ``(title, points)``; every panel shows the same
    samples (``pids``, ``modalities``), so an identity keeps its colour."""
    if not panels:
        raise ValueError('plot_tsne_panels: no panels given')
    ids = sorted(set(np.asarray(pids).tolist()))
    cmap = colormaps['tab10' if len(ids) <= 10 else 'tab20']
    colour = {pid: cmap(i % cmap.N) for i, pid in enumerate(ids)}
    figure = new_figure(4.5 * len(panels), 4.5)
    for column, (title, points) in enumerate(panels, start=1):
        axes = figure.add_subplot(1, len(panels), column)
        for modality, (marker, name) in MODALITY_MARKERS.items():
            chosen = np.asarray(modalities) == modality
            if not chosen.any():
                continue
            axes.scatter(points[chosen, 0], points[chosen, 1], s=18,
                         marker=marker, linewidths=0.3, edgecolors='k',
                         c=[colour[p] for p in np.asarray(pids)[chosen]])
        axes.set_title(title)
        axes.set_xticks([])
        axes.set_yticks([])
        if column == 1:  # grey proxies: the legend explains markers only
            axes.legend(handles=[
                Line2D([], [], marker=marker, linestyle='', color='grey',
                       label=name)
                for marker, name in MODALITY_MARKERS.values()],
                loc='best', fontsize=8)
    return save_figure(figure, out_file)
