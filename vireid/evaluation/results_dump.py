"""What ``VIReIDMetric`` cached, written to and read from an ``.npz`` file.

``tools/test.py --dump results.npz`` writes every test sample's feature and
labels plus the metric settings that decide the protocol, so the analysis
tools (ranked lists, t-SNE, CMC curves) recompute everything without the
model. Only plain arrays are stored (strings as a unicode array) and the
reader passes ``allow_pickle=False``: opening a dump never runs code.
"""
import os
import os.path as osp
from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

DUMP_VERSION = 1
ARRAY_KEYS = ('features', 'pid', 'camid', 'modality', 'img_path')
SETTING_KEYS = ('protocol', 'distance', 'sampling', 'perm_file', 'num_shots',
                'num_trials')
# settings added after version 1, with the value an older dump was computed with
LATER_SETTINGS = dict(llcm_vis2ir='visible-queries')


@dataclass
class ReIDResults:
    """One test run's embeddings and labels, in the metric's sample order.

    Attributes:
        features: ``(N, D)`` float32, as the model predicted them (the
            metric L2-normalises them before measuring distances).
        pid, camid, modality: ``(N,)`` int64 (modality 0 visible,
            1 infrared).
        img_path: ``(N,)`` unicode array.
        protocol: ``'sysu'``, ``'regdb'`` or ``'llcm'``.
        distance, sampling, perm_file, num_shots, num_trials, llcm_vis2ir:
            the metric's settings.
    """
    features: np.ndarray
    pid: np.ndarray
    camid: np.ndarray
    modality: np.ndarray
    img_path: np.ndarray
    protocol: str
    distance: str = 'cosine'
    sampling: str = 'reference'
    perm_file: str = ''
    num_shots: Tuple[int, int] = (1, 10)
    num_trials: int = 10
    llcm_vis2ir: str = 'deen'

    def __len__(self) -> int:
        return len(self.pid)


def _check_suffix(path: str) -> None:
    if osp.splitext(str(path))[1].lower() != '.npz':
        raise ValueError(f'{path}: a results dump must be an .npz file '
                         '(plain arrays; pickle files can run code when '
                         'loaded)')


def dump_reid_results(path: str, results: Sequence[dict], protocol: str,
                      distance: str = 'cosine', sampling: str = 'reference',
                      perm_file: Optional[str] = None,
                      num_shots: Sequence[int] = (1, 10),
                      num_trials: int = 10, llcm_vis2ir: str = 'deen') -> str:
    """Write the metric's cached ``results`` (dicts with ``feature``,
    ``pid``, ``camid``, ``modality``, ``img_path``) to ``path`` (``.npz``).

    Returns the path written.
    """
    _check_suffix(path)
    if not results:
        raise ValueError(f'{path}: no results to dump')
    features = np.stack([np.asarray(r['feature'], dtype=np.float32)
                         for r in results])
    arrays = dict(
        features=features,
        pid=np.asarray([r['pid'] for r in results], dtype=np.int64),
        camid=np.asarray([r['camid'] for r in results], dtype=np.int64),
        modality=np.asarray([r['modality'] for r in results], dtype=np.int64),
        img_path=np.asarray([str(r['img_path']) for r in results], dtype=str),
        version=np.asarray(DUMP_VERSION),
        protocol=np.asarray(str(protocol)),
        distance=np.asarray(str(distance)),
        sampling=np.asarray(str(sampling)),
        perm_file=np.asarray(str(perm_file or '')),
        num_shots=np.asarray(tuple(num_shots), dtype=np.int64),
        num_trials=np.asarray(int(num_trials)),
        llcm_vis2ir=np.asarray(str(llcm_vis2ir)))
    folder = osp.dirname(osp.abspath(path))
    os.makedirs(folder, exist_ok=True)
    # np.savez appends '.npz' to names without it; write through a handle so
    # the file is exactly ``path``
    with open(path, 'wb') as f:
        np.savez(f, **arrays)
    return path


def load_reid_results(path: str) -> ReIDResults:
    """Read a dump written by :func:`dump_reid_results`; every error names
    the file and the key at fault."""
    _check_suffix(path)
    if not osp.isfile(path):
        raise FileNotFoundError(f'results dump not found: {path}')
    try:
        content = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f'{path}: not a readable .npz file ({err})') from err
    with content:
        missing = [k for k in ARRAY_KEYS + SETTING_KEYS + ('version', )
                   if k not in content.files]
        if missing:
            raise ValueError(f'{path}: missing keys {missing}; is it a '
                             '`tools/test.py --dump` file?')
        version = int(content['version'])
        if version != DUMP_VERSION:
            raise ValueError(f'{path}: dump version {version}, this reader '
                             f'knows {DUMP_VERSION}')
        try:
            data = {k: content[k] for k in ARRAY_KEYS + SETTING_KEYS}
            later = {k: str(content[k]) if k in content.files else default
                     for k, default in LATER_SETTINGS.items()}
        except ValueError as err:  # object arrays need pickle: refused
            raise ValueError(f'{path}: not a plain-array .npz ({err})') \
                from err
    features = data['features']
    if features.ndim != 2 or not np.issubdtype(features.dtype, np.floating):
        raise ValueError(f'{path}: key "features" must be a 2-D float array,'
                         f' got shape {features.shape} of {features.dtype}')
    for key in ('pid', 'camid', 'modality', 'img_path'):
        if data[key].shape != (len(features), ):
            raise ValueError(f'{path}: key "{key}" has shape '
                             f'{data[key].shape}, expected ({len(features)},)'
                             ' (one entry per feature row)')
    for key in ('pid', 'camid', 'modality'):
        if not np.issubdtype(data[key].dtype, np.integer):
            raise ValueError(f'{path}: key "{key}" must hold integers, got '
                             f'{data[key].dtype}')
    return ReIDResults(
        features=features.astype(np.float32, copy=False),
        pid=data['pid'].astype(np.int64), camid=data['camid'].astype(np.int64),
        modality=data['modality'].astype(np.int64),
        img_path=data['img_path'].astype(str),
        protocol=str(data['protocol']), distance=str(data['distance']),
        sampling=str(data['sampling']), perm_file=str(data['perm_file']),
        num_shots=tuple(int(n) for n in data['num_shots']),
        num_trials=int(data['num_trials']), **later)
