"""Counting what a synthetic (or real) tree holds: identities and images per modality."""
from pathlib import Path

# per tree: (visible globs, infrared globs), each matching <...>/<pid folder>/<image>
_GLOBS = {
    'sysu': (['cam1/*/*.jpg', 'cam2/*/*.jpg', 'cam4/*/*.jpg', 'cam5/*/*.jpg'],
             ['cam3/*/*.jpg', 'cam6/*/*.jpg']),
    'regdb': (['Visible/*/*.bmp'], ['Thermal/*/*.bmp']),
    'llcm': (['train_vis/*/*/*.jpg', 'test_vis/*/*/*.jpg'], ['train_nir/*/*/*.jpg', 'test_nir/*/*/*.jpg']),
}


def summarize(roots):
    """``{key: {'ids': int, 'visible': int, 'infrared': int}}`` for the trees in
    ``roots`` (the dict :func:`make_synthetic` returns)."""
    out = {}
    for key, root in roots.items():
        if key not in _GLOBS:
            raise KeyError(f'unknown tree {key!r}; expected one of {sorted(_GLOBS)}')
        pids, counts = set(), {}
        for modality, patterns in zip(('visible', 'infrared'), _GLOBS[key]):
            files = [f for pattern in patterns for f in Path(root).glob(pattern)]
            pids |= {int(f.parent.name) for f in files}
            counts[modality] = len(files)
        out[key] = dict(ids=len(pids), **counts)
    return out


def format_summary(roots, summary):
    """A few human-readable lines, one per tree."""
    return '\n'.join(f'{Path(roots[key])}: {s["ids"]} ids, {s["visible"]} visible + '
                     f'{s["infrared"]} infrared images' for key, s in summary.items())
