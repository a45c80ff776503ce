"""Local file writes that are all-or-nothing, so a kill during a checkpoint save loses nothing.

MMEngine saves checkpoints (and the ``last_checkpoint`` pointer that
``--resume auto`` follows) through the ``local`` file backend, which writes
in place: a process killed mid-write leaves a truncated file that a later
resume chokes on. This backend writes to a temporary file in the same
folder, flushes it to disk and renames it over the target, an atomic step.
"""
import os
import os.path as osp
import tempfile
from pathlib import Path
from typing import Union

import mmengine
from mmengine.fileio import io as fileio
from mmengine.fileio.backends import LocalBackend, register_backend


def atomic_write(data: Union[bytes, str], filepath: Union[str, Path], encoding='utf-8') -> None:
    filepath = str(filepath)
    folder = osp.dirname(osp.abspath(filepath))
    mmengine.mkdir_or_exist(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f'.{osp.basename(filepath)}.', suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(data.encode(encoding) if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if osp.exists(tmp):
            os.remove(tmp)
        raise


class AtomicLocalBackend(LocalBackend):

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = 'utf-8') -> None:
        atomic_write(obj, filepath, encoding)


register_backend('local', AtomicLocalBackend, force=True, prefixes='')
# instances made before this module was imported would keep writing in place
for key in [k for k, v in fileio.backend_instances.items() if type(v) is LocalBackend]:
    del fileio.backend_instances[key]
