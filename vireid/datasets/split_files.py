"""Readers of the split files of the VI-ReID datasets.

Two formats occur: an identity list (SYSU-MM01 ``exp/*_id.txt``, LLCM
``idx/test_id.txt``: comma-separated ints, one line in the official files)
and an index file (RegDB ``idx/*.txt``, LLCM ``idx/train_*.txt``: lines
``<relpath> <label>``). Every error names the file and the line at fault.
"""
import os
import os.path as osp
from typing import Dict, Iterable, List, NamedTuple


class IndexEntry(NamedTuple):
    """One line of an index file."""
    relpath: str
    label: int
    lineno: int


def require_dir(path: str, what: str) -> None:
    """Raise ``FileNotFoundError`` naming ``path`` and what it should hold."""
    if not osp.isdir(path):
        raise FileNotFoundError(f'{path}: missing directory; expected {what}')


def require_file(path: str, what: str) -> None:
    """Raise ``FileNotFoundError`` naming ``path`` and what it should hold."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'{path}: missing file; expected {what}')


def read_id_list(path: str) -> List[int]:
    """Identities of a comma-separated id list, in file order.

    Empty tokens (a trailing comma, blank lines) are skipped because the
    official files end with a newline and sometimes a comma.
    """
    require_file(path, 'a line of comma-separated identity numbers')
    ids: List[int] = []
    seen: Dict[int, int] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, start=1):
            for token in line.strip().split(','):
                token = token.strip()
                if not token:
                    continue
                try:
                    pid = int(token)
                except ValueError:
                    raise ValueError(
                        f'{path}, line {lineno}: {token!r} is not an integer '
                        'identity') from None
                if pid in seen:
                    raise ValueError(
                        f'{path}, line {lineno}: identity {pid} listed twice '
                        f'(first on line {seen[pid]})')
                seen[pid] = lineno
                ids.append(pid)
    if not ids:
        raise ValueError(f'{path}: no identities listed')
    return ids


def check_disjoint(id_lists: Dict[str, List[int]]) -> None:
    """Raise if two split files (path -> identities) share an identity.

    A test identity trained on inflates every metric of the test set, and
    nothing downstream would notice. A repeat within one file is
    :func:`read_id_list`'s error, raised before this.
    """
    owner: Dict[int, str] = {}
    for path, ids in id_lists.items():
        for pid in ids:
            if pid in owner:
                raise ValueError(f'{path}: identity {pid} is also in {owner[pid]}; '
                                 'split files must not share identities')
            owner[pid] = path


def _is_inside(relpath: str) -> bool:
    if osp.isabs(relpath) or relpath.startswith(('/', '\\')):
        return False
    normalised = osp.normpath(relpath)
    return normalised != '..' and not normalised.startswith('..' + os.sep)


def read_index_file(path: str) -> List[IndexEntry]:
    """Entries of a ``<relpath> <label>`` index file, in file order.

    Paths must stay inside the dataset root (no absolute paths, no ``..``)
    so that a config's ``data_root`` is the only place images come from.
    """
    require_file(path, 'lines "<relative image path> <integer label>"')
    entries: List[IndexEntry] = []
    seen: Dict[str, int] = {}
    with open(path) as f:
        for lineno, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                continue
            where = f'{path}, line {lineno}'
            if len(fields) != 2:
                raise ValueError(
                    f'{where}: expected "<relative image path> <label>", '
                    f'got {line.strip()!r}')
            relpath, token = fields
            try:
                label = int(token)
            except ValueError:
                raise ValueError(
                    f'{where}: label {token!r} is not an integer') from None
            if not _is_inside(relpath):
                raise ValueError(
                    f'{where}: image path {relpath!r} leaves the dataset '
                    'root (absolute or "..")')
            key = osp.normpath(relpath)
            if key in seen:
                raise ValueError(
                    f'{where}: duplicate entry {relpath!r} (first on line '
                    f'{seen[key]})')
            seen[key] = lineno
            entries.append(IndexEntry(relpath, label, lineno))
    if not entries:
        raise ValueError(f'{path}: no entries')
    return entries


def check_entries_exist(root: str, entries: Iterable[IndexEntry],
                        index_path: str) -> None:
    """Check each entry's image exists by listing each folder once.

    Listing folders (not a ``stat`` per image) keeps start-up fast on
    network file systems while still failing early on a stale index file.
    """
    listings: Dict[str, set] = {}
    for entry in entries:
        folder, name = osp.split(osp.normpath(entry.relpath))
        if folder not in listings:
            full = osp.join(root, folder)
            listings[folder] = set(os.listdir(full)) if osp.isdir(
                full) else set()
        if name not in listings[folder]:
            raise FileNotFoundError(
                f'{index_path}, line {entry.lineno}: image '
                f'{osp.join(root, entry.relpath)} does not exist')


def list_images(folder: str, extensions: tuple) -> List[str]:
    """Sorted file names in ``folder`` with one of ``extensions``."""
    return sorted(name for name in os.listdir(folder)
                  if name.lower().endswith(extensions))
