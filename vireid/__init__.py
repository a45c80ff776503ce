"""vireid: visible-infrared person re-identification on MMEngine."""
from .version import __version__

__all__ = ['__version__']
