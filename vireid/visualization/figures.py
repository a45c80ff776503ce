"""Matplotlib figures without pyplot: no global backend or figure state, so
the tools run headless and in threads."""
import os
import os.path as osp

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure: Figure, out_file: str) -> str:
    """Write ``figure`` (any format matplotlib knows from the suffix)."""
    folder = osp.dirname(osp.abspath(out_file))
    os.makedirs(folder, exist_ok=True)
    figure.savefig(out_file, bbox_inches='tight')
    return out_file
