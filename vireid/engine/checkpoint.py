"""Checkpoint loading that never runs code from the file unless the user says so.

torch >= 2.6 loads with ``weights_only=True`` by default, and MMEngine's own
checkpoints then fail: their message hub pickles ``HistoryBuffer`` objects,
numpy arrays and scalars, and bound statistics methods fetched with
``getattr``. Rather than unpickling arbitrary objects, we allow exactly those
types (and ``getattr`` only for ``HistoryBuffer``'s statistics methods) in
torch's weights-only unpickler. A file that needs anything else is refused
with a message naming it, unless loading is explicitly trusted
(``tools/test.py --trust-checkpoint`` / :func:`trust_checkpoints`).
"""
import codecs
import contextlib
import os
import os.path as osp
import pickle
import re
import zipfile
from typing import Dict, Optional

import numpy as np
import torch
from mmengine.logging import HistoryBuffer
from mmengine.runner import CheckpointLoader

_TRUSTED = False


# HistoryBuffer pickles its statistics methods as getattr(HistoryBuffer, name);
# its own registry of them fills only once a buffer exists, so name them here
_HISTORY_BUFFER_STATISTICS = ('min', 'max', 'mean', 'current')


def _history_buffer_getattr(obj, name):
    if obj is HistoryBuffer and name in _HISTORY_BUFFER_STATISTICS:
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'refusing getattr({obj!r}, {name!r}) in a weights-only load')


_NUMPY_DTYPES = ('bool', 'uint8', 'int8', 'int16', 'int32', 'int64', 'float16',
                 'float32', 'float64')
SAFE_GLOBALS = [
    HistoryBuffer, np.ndarray, np.dtype, np._core.multiarray._reconstruct,
    np._core.multiarray.scalar, codecs.encode,
    (_history_buffer_getattr, 'builtins.getattr'),
] + [type(np.dtype(name)) for name in _NUMPY_DTYPES]


def _unpickling_reason(message: str) -> str:
    """The line of torch's unpickling error that names the cause (not its advice or docs link)."""
    advice = ('Weights only load failed', 'Please file an issue', 'Check the documentation',
              'Re-running `torch.load`', 'WeightsUnpickler error')
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    causes = [line for line in lines if not line.startswith(advice)]
    return (causes or lines or [''])[0]


def safe_load(filename, map_location=None):
    """``torch.load`` of a local file, weights only unless loading is trusted."""
    try:
        if _TRUSTED:
            return torch.load(filename, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(SAFE_GLOBALS):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        reason = _unpickling_reason(str(err))
        # torch writes zip archives; bytes that are no pickle at all fail on their first opcodes
        no_pickle = not zipfile.is_zipfile(filename) and any(
            sign in reason for sign in ('Unsupported operand', 'invalid load key', 'persistent'))
        if not _TRUSTED and not no_pickle:
            raise pickle.UnpicklingError(
                f'{filename}: refused to load objects other than weights and training '
                f'state ({reason[:300]}). If you trust this file, '
                f'load it with --trust-checkpoint.') from err
        raise RuntimeError(f'{filename}: not a PyTorch checkpoint (corrupt, or another kind '
                           f'of file): {reason[:300]}') from err
    except (RuntimeError, EOFError, zipfile.BadZipFile) as err:
        reason = 'the file is empty (0 bytes)' if osp.getsize(filename) == 0 else str(err)
        raise RuntimeError(f'{filename}: not a readable checkpoint (truncated or '
                           f'corrupt?): {reason}') from err


def describe_mismatch(filename: str, model: torch.nn.Module, shown: int = 3) -> str:
    """One line on how the weights in ``filename`` differ from ``model``'s.

    MMEngine's strict load lists every key that differs, hundreds of lines
    for a checkpoint of another model; this says how many of each kind and
    names the first few.
    """
    state = safe_load(filename, map_location='cpu')
    state = state.get('state_dict', state)
    state = {re.sub(r'^module\.', '', key): value for key, value in state.items()}
    own = model.state_dict()
    kinds = [
        ('missing from the file', [k for k in own if k not in state]),
        ('not in the model', [k for k in state if k not in own]),
        ('of another shape', [k for k in own if k in state
                              and tuple(state[k].shape) != tuple(own[k].shape)]),
    ]
    parts = [f'{len(keys)} keys {kind}' + (f' (e.g. {", ".join(keys[:shown])})' if keys else '')
             for kind, keys in kinds]
    return (f'{filename} does not hold the weights of this {type(model).__name__} '
            f'(a checkpoint of another model or config?): {"; ".join(parts)}')


@contextlib.contextmanager
def trust_checkpoints(enabled: bool = True):
    """Allow full unpickling (arbitrary code) inside this block."""
    global _TRUSTED
    previous, _TRUSTED = _TRUSTED, enabled
    try:
        yield
    finally:
        _TRUSTED = previous


def set_trust_checkpoints(enabled: bool) -> None:
    global _TRUSTED
    _TRUSTED = enabled


# local paths (the '' prefix) go through safe_load for load_from, resume and test
CheckpointLoader.register_scheme(prefixes='', loader=safe_load, force=True)


def find_resumable_checkpoint(work_dir: str, at_most: Optional[Dict[str, int]] = None):
    """The newest complete ``epoch_*.pth`` / ``iter_*.pth`` in ``work_dir``, or None.

    Unlike following ``last_checkpoint``, this survives a pointer file or a
    checkpoint cut short by a kill: torch checkpoints are zip archives whose
    directory is written last, so a truncated one fails ``is_zipfile``.
    ``at_most`` (``{'epoch': 3, 'iter': 2000}``) skips numbers above these:
    a reused work dir may hold later checkpoints of another run.
    """
    if not osp.isdir(work_dir):
        return None
    candidates = []
    for name in os.listdir(work_dir):
        match = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', name)
        if match and (at_most is None or int(match.group(2)) <= at_most[match.group(1)]):
            candidates.append((int(match.group(2)), osp.join(work_dir, name)))
    for _, path in sorted(candidates, reverse=True):
        if zipfile.is_zipfile(path):
            return path
    return None
