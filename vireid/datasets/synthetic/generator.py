"""``make_synthetic``: render the three synthetic trees."""
import json
import shutil
from pathlib import Path

import cv2
import numpy as np

from .cameras import make_scene
from .identity import sample_identity
from .layouts import plan_llcm, plan_regdb, plan_sysu
from .render import render_person

TREES = {'sysu': ('SYSU-MM01', plan_sysu), 'regdb': ('RegDB', plan_regdb), 'llcm': ('LLCM', plan_llcm)}
MARKER = '.vireid_synthetic.json'
JPEG_QUALITY = 95
_SCENE = 2001
# The tree every *_synthetic config is written for (280 train + 40 val SYSU
# ids: 320 classes), and the README's quickstart trains on.
DEFAULT_NUM_IDS = 400


def _prepare(root, meta):
    """Empty ``root`` for a new tree; refuse to touch a folder we did not write."""
    if root.exists() and any(root.iterdir()):
        if not (root / MARKER).is_file():
            raise FileExistsError(
                f'{root} exists and is not a synthetic tree (no {MARKER}); refusing to overwrite it')
        shutil.rmtree(root)
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text(json.dumps(meta, sort_keys=True) + '\n')


def _encode(path, img):
    """Encoded bytes of an RGB image; JPEG quality fixed so files are reproducible."""
    bgr = img[..., ::-1]
    if path.suffix == '.jpg':
        ok, buf = cv2.imencode('.jpg', bgr, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    else:
        ok, buf = cv2.imencode(path.suffix, bgr)
    if not ok:
        raise RuntimeError(f'OpenCV could not encode {path}')
    return buf.tobytes()


def make_synthetic(out_dir, num_ids=DEFAULT_NUM_IDS, seed=0, progress=True, img_size=(128, 64),
                   datasets=tuple(TREES)):
    """Write ``out_dir/SYSU-MM01``, ``out_dir/RegDB`` and ``out_dir/LLCM`` (or
    those of ``datasets``: keys of ``TREES``) with ``num_ids`` procedurally
    rendered identities each, in the real layouts.

    Output depends only on ``(num_ids, seed, img_size)``: every identity,
    camera scene and image has its own generator seeded by integers, so files
    are byte-identical across runs and independent of rendering order.
    Existing synthetic trees at those paths are replaced; any other non-empty
    folder there raises ``FileExistsError``.

    Returns:
        dict: ``{'sysu': Path, 'regdb': Path, 'llcm': Path}`` (the keys of
        ``datasets``).
    """
    unknown = sorted(set(datasets) - set(TREES))
    if unknown or not datasets:
        raise ValueError(f'datasets must be some of {sorted(TREES)}, got {list(datasets)}')
    if int(num_ids) != num_ids or num_ids < 6:
        raise ValueError(f'num_ids must be an integer >= 6, got {num_ids!r}')
    size = tuple(int(s) for s in img_size)
    if len(size) != 2 or min(size) < 16:
        raise ValueError(f'img_size must be (height, width) with both >= 16, got {img_size!r}')
    out_dir = Path(out_dir)
    meta = dict(num_ids=int(num_ids), seed=int(seed), img_size=list(size))
    roots, jobs = {}, []
    for key, (folder, plan) in TREES.items():
        if key not in datasets:
            continue
        roots[key] = out_dir / folder
        _prepare(roots[key], meta)
        jobs += plan(roots[key], int(num_ids), int(seed))

    identities, scenes = {}, {}
    for job in jobs:
        if (job.dataset, job.pid) not in identities:
            identities[job.dataset, job.pid] = sample_identity(seed, job.dataset, job.pid)
        if job.scene not in scenes:
            rng = np.random.default_rng([seed, *job.scene, _SCENE])
            scenes[job.scene] = make_scene(rng, job.camera, size)
    for folder in sorted({job.path.parent for job in jobs}):
        folder.mkdir(parents=True, exist_ok=True)

    def run(job):
        img = render_person(identities[job.dataset, job.pid], job.camera, scenes[job.scene],
                            np.random.default_rng(list(job.seed)), size)
        job.path.write_bytes(_encode(job.path, img))

    # one thread: the images are tiny, so threads only add GIL contention (measured)
    groups = {}
    for job in jobs:
        groups.setdefault((job.dataset, job.pid), []).append(job)
    groups = list(groups.values())
    if progress:
        from mmengine.utils import track_iter_progress
        groups = track_iter_progress(groups)
    for group in groups:
        for job in group:
            run(job)
    return roots
