"""Procedural synthetic VI-ReID data in the SYSU-MM01, RegDB and LLCM layouts."""
from .generator import make_synthetic
from .identity import Identity, sample_colours, sample_identity, with_colours
from .montage import save_montage
from .render import render_person

__all__ = ['make_synthetic', 'save_montage', 'render_person', 'Identity', 'sample_identity',
           'sample_colours', 'with_colours']
