"""CMC curves of several runs on one plot."""
from typing import Dict, Optional

import numpy as np

from .figures import new_figure, save_figure


def plot_cmc_curves(curves: Dict[str, np.ndarray], out_file: str,
                    title: Optional[str] = None) -> str:
    """Plot ``{label: cmc}`` (fractions, ``cmc[k]`` = rank ``k + 1``) in
    percent against the rank; the legend carries each curve's R1."""
    if not curves:
        raise ValueError('plot_cmc_curves: no curves given')
    figure = new_figure(6, 4.5)
    axes = figure.add_subplot()
    for label, cmc in curves.items():
        cmc = np.asarray(cmc, dtype=float).reshape(-1)
        ranks = np.arange(1, len(cmc) + 1)
        axes.plot(ranks, cmc * 100, marker='o', markersize=3,
                  label=f'{label} (R1 {cmc[0] * 100:.1f})')
    axes.set_xlabel('rank')
    axes.set_ylabel('matching rate (%)')
    axes.set_ylim(0, 100)
    axes.set_xlim(1, max(len(c) for c in curves.values()))
    axes.grid(alpha=0.3)
    axes.legend(loc='lower right')
    if title:
        axes.set_title(title)
    return save_figure(figure, out_file)
