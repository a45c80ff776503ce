"""Registered metrics and the protocol table helpers."""
from .protocol_table import RESULTS_SUFFIXES, dump_results, format_protocol_table
from .run_average import average_runs, load_results
from .vireid_metric import HEADLINE_MODE, PROTOCOL_MODES, VIReIDMetric

__all__ = [
    'VIReIDMetric', 'PROTOCOL_MODES', 'HEADLINE_MODE',
    'format_protocol_table', 'dump_results', 'average_runs', 'load_results',
    'RESULTS_SUFFIXES'
]
