"""Protocol tables of separate runs, read back and averaged.

RegDB's published numbers are the mean over its 10 trials, each a separate
split trained as a separate model; a seed study averages runs the same way.
Each run's metrics come from ``tools/test.py --out`` (``.json`` or ``.csv``).
"""
import csv
import json
import os.path as osp
from typing import Dict

import numpy as np

from .protocol_table import _KEY, RESULTS_SUFFIXES

STD = '_std'


def load_results(path: str) -> Dict[str, float]:
    """The metrics ``dump_results`` wrote to ``path`` (``.json`` or ``.csv``)."""
    suffix = osp.splitext(path)[1].lower()
    if suffix not in RESULTS_SUFFIXES:
        raise ValueError(f'{path}: results must be a .json or .csv file from tools/test.py --out')
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: no such results file')
    try:
        with open(path, newline='') as f:
            metrics = json.load(f) if suffix == '.json' else _csv_metrics(path, csv.DictReader(f))
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as err:
        raise ValueError(f'{path}: not a results file of tools/test.py --out ({err})') from err
    if not isinstance(metrics, dict):
        raise ValueError(f'{path}: holds a {type(metrics).__name__}, not a dict of metrics')
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f'{path}: metric {key!r} is {value!r}, not a number')
    if not any(_KEY.search(key) for key in metrics):
        raise ValueError(f"{path}: no protocol results (keys like 'regdb/vis2ir/R1')")
    return {key: float(value) for key, value in metrics.items()}


def _csv_metrics(path: str, rows) -> Dict[str, float]:
    metrics = {}
    for line, row in enumerate(rows, start=2):
        protocol, mode = row.pop('protocol', None), row.pop('mode', None)
        if not protocol or not mode:
            raise ValueError(f'{path}: line {line} has no protocol / mode')
        if None in row:
            raise ValueError(f'{path}: line {line} has more fields than the header')
        for name, value in row.items():
            if value not in ('', None):
                try:
                    metrics[f'{protocol}/{mode}/{name}'] = float(value)
                except ValueError:
                    raise ValueError(f'{path}: line {line}: {name}={value!r} is not a '
                                     'number') from None
    return metrics


def average_runs(runs: Dict[str, Dict[str, float]]) -> Dict[str, float]:
    """Mean of every metric over ``runs`` (name -> metrics), and for each
    protocol number ``<protocol>/<mode>/<name>`` its population standard
    deviation over the runs as ``<name>_std``, the statistic the metric gives
    over trials.

    A run's own ``*_std`` keys (its spread over the gallery trials) are not
    averaged: the spread that matters here is the one between runs; a
    headline alias (``R1``) is averaged where every run has one. Runs of
    different protocols or modes are refused, and so is the same run given
    twice (identical metrics).
    """
    if len(runs) < 2:
        raise ValueError(f'averaging needs at least two runs, got {len(runs)}: {list(runs)}')
    # headline aliases ('R1', 'mAP') are in .json results only: averaged where every run has them
    aliases = set.intersection(*({k for k in m if not _KEY.search(k)} for m in runs.values()))
    keyed = {name: {k: v for k, v in metrics.items()
                    if not k.endswith(STD) and (_KEY.search(k) or k in aliases)}
             for name, metrics in runs.items()}
    (first, expected), *others = keyed.items()
    seen = {}
    for name, metrics in keyed.items():
        if set(metrics) != set(expected):
            extra = sorted(set(metrics) - set(expected)) or sorted(set(expected) - set(metrics))
            which = 'has' if set(metrics) - set(expected) else 'lacks'
            raise ValueError(f'{name} {which} {extra[0]!r}, unlike {first}: runs of the same '
                             'protocols and modes can be averaged, not these')
        signature = tuple(sorted(metrics.items()))
        if signature in seen:
            raise ValueError(f'{name} and {seen[signature]} hold identical metrics: the same run '
                             'given twice?')
        seen[signature] = name
    averaged = {}
    for key in expected:
        values = np.array([metrics[key] for metrics in keyed.values()], dtype=np.float64)
        averaged[key] = float(values.mean())
        if _KEY.search(key):
            averaged[key + STD] = float(values.std())
    return averaged
