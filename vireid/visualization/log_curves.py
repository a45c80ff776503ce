"""Loss and metric curves from MMEngine's scalar logs
(``<work_dir>/<timestamp>/vis_data/<timestamp>.json``: one JSON object per
line; training lines carry ``iter`` and ``step`` = iteration, validation
lines carry the metrics and ``step`` = epoch, or iteration for
iteration-based loops)."""
import json
from typing import Dict, List, Sequence

import numpy as np

from .figures import new_figure, save_figure


def load_scalar_log(path: str) -> List[dict]:
    """The log's records in file order; a bad line names file and line."""
    records = []
    with open(path) as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f'{path}, line {lineno}: not a JSON object '
                                 f'({err.msg})') from None
            if not isinstance(record, dict):
                raise ValueError(f'{path}, line {lineno}: expected a JSON '
                                 f'object, got {type(record).__name__}')
            records.append(record)
    if not records:
        raise ValueError(f'{path}: empty log')
    return records


def is_train_record(record: dict) -> bool:
    return 'iter' in record


def series(records: Sequence[dict], key: str):
    """``(steps, values, is_train)`` of the records holding ``key``: the
    training ones if any has it (``time`` is in both kinds), else the
    validation ones."""
    hits = [r for r in records if key in r and is_train_record(r)]
    hits = hits or [r for r in records if key in r]
    steps = np.asarray([r.get('step', i) for i, r in enumerate(hits)])
    values = np.asarray([float(r[key]) for r in hits])
    return steps, values, bool(hits) and is_train_record(hits[0])


def plot_log_curves(logs: Dict[str, Sequence[dict]], keys: Sequence[str],
                    out_file: str) -> str:
    """One panel per key, one line per log (``{label: records}``)."""
    if not keys:
        raise ValueError('plot_log_curves: no keys given')
    for key in keys:
        if not any(key in r for records in logs.values() for r in records):
            known = sorted({k for records in logs.values() for r in records
                            for k in r})
            raise ValueError(f'key {key!r} is in none of the logs; they hold '
                             f'{known}')
    figure = new_figure(5.5 * len(keys), 4)
    for column, key in enumerate(keys, start=1):
        axes = figure.add_subplot(1, len(keys), column)
        train = False
        for label, records in logs.items():
            steps, values, is_train = series(records, key)
            train = train or is_train
            if len(values):
                axes.plot(steps, values, marker='' if len(values) > 20
                          else 'o', markersize=3, label=label)
        axes.set_title(key)
        axes.set_xlabel('iteration' if train else 'epoch (validation)')
        axes.grid(alpha=0.3)
        axes.legend(fontsize=8)
    return save_figure(figure, out_file)


def train_time_summary(records: Sequence[dict]) -> Dict[str, float]:
    """Seconds per iteration over the training records (their ``time``
    field averages over the logging interval), per epoch and overall."""
    train = [r for r in records if is_train_record(r) and 'time' in r]
    if not train:
        raise ValueError('the log has no training records with a "time" '
                         'field')
    times = np.asarray([float(r['time']) for r in train])
    per_epoch = {}
    for r in train:
        per_epoch.setdefault(int(r.get('epoch', 0)), []).append(
            float(r['time']))
    epoch_means = {e: float(np.mean(t)) for e, t in per_epoch.items()}
    slowest = max(epoch_means, key=epoch_means.get)
    fastest = min(epoch_means, key=epoch_means.get)
    return dict(mean_s_per_iter=float(times.mean()),
                std_s_per_iter=float(times.std()),
                num_records=len(train),
                last_iter=int(max(r['iter'] for r in train)),
                slowest_epoch=slowest,
                slowest_epoch_s_per_iter=epoch_means[slowest],
                fastest_epoch=fastest,
                fastest_epoch_s_per_iter=epoch_means[fastest])
