"""The protocol table of a test run: printed like the papers' tables and
written as JSON or CSV."""
import csv
import json
import os
import os.path as osp
import re
from typing import Dict, List, Tuple

COLUMNS = ('R1', 'R5', 'R10', 'R20', 'mAP', 'mINP')
# what dump_results writes and load_results reads
RESULTS_SUFFIXES = ('.json', '.csv')
# '<protocol>/<mode>/<name>' or '<protocol>/<mode>/<name>_std'; an evaluator
# prefix in front ('val/sysu/all-single/R1') is allowed.
_KEY = re.compile(r'(?:^|/)(?P<protocol>[^/]+)/(?P<mode>[^/]+)/'
                  r'(?P<name>R\d+|mAP|mINP)(?P<std>_std)?$')


def _rows(metrics: Dict[str, float]) -> Dict[Tuple[str, str], dict]:
    rows: Dict[Tuple[str, str], dict] = {}
    for key, value in metrics.items():
        found = _KEY.search(key)
        if found is None:
            continue
        row = rows.setdefault((found['protocol'], found['mode']), {})
        slot = 'std' if found['std'] else 'mean'
        row.setdefault(found['name'], {})[slot] = float(value)
    return rows


def _columns(rows: Dict[Tuple[str, str], dict]) -> List[str]:
    names = {name for row in rows.values() for name in row}
    ranks = sorted((n for n in names if n.startswith('R')),
                   key=lambda n: int(n[1:]))
    return ranks + [n for n in ('mAP', 'mINP') if n in names]


def format_protocol_table(metrics: Dict[str, float]) -> str:
    """Rows = protocol / mode, columns = R1 R5 R10 R20 mAP mINP (whichever
    are present), cells ``mean ± std`` in percent over the trials."""
    rows = _rows(metrics)
    if not rows:
        raise ValueError('no protocol results in the metrics (expected keys '
                         "like 'sysu/all-single/R1'); got "
                         f'{sorted(metrics)[:8]}')
    columns = _columns(rows)
    header = ['protocol', 'mode'] + columns
    lines = [header]
    for (protocol, mode), row in rows.items():
        cells = [protocol, mode]
        for name in columns:
            cell = row.get(name, {})
            if 'mean' not in cell:
                cells.append('-')
            elif 'std' in cell:
                cells.append(f"{cell['mean']:.2f} ± {cell['std']:.2f}")
            else:
                cells.append(f"{cell['mean']:.2f}")
        lines.append(cells)
    widths = [max(len(line[c]) for line in lines) for c in range(len(header))]
    text = ['  '.join(cell.rjust(w) if c > 1 else cell.ljust(w)
                      for c, (cell, w) in enumerate(zip(line, widths)))
            for line in lines]
    text.insert(1, '-' * len(text[0]))
    return '\n'.join(text)


def dump_results(metrics: Dict[str, float], path: str) -> str:
    """Write the metrics as ``.json`` (every key, as given) or ``.csv`` (one
    row per protocol / mode: each column's mean and ``<name>_std``).

    Returns the path written.
    """
    suffix = osp.splitext(path)[1].lower()
    if suffix not in RESULTS_SUFFIXES:
        raise ValueError(f'cannot write results to {path}: the suffix must '
                         'be .json or .csv')
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    if suffix == '.json':
        with open(path, 'w') as f:
            json.dump({k: float(v) for k, v in metrics.items()}, f, indent=2)
        return path
    rows = _rows(metrics)
    if not rows:
        raise ValueError(f'no protocol results to write to {path}')
    columns = _columns(rows)
    fields = ['protocol', 'mode'] + [
        f'{name}{tail}' for name in columns for tail in ('', '_std')]
    with open(path, 'w', newline='') as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for (protocol, mode), row in rows.items():
            record = dict(protocol=protocol, mode=mode)
            for name in columns:
                cell = row.get(name, {})
                record[name] = cell.get('mean', '')
                record[f'{name}_std'] = cell.get('std', '')
            writer.writerow(record)
    return path
