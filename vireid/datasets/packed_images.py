"""A packed cache of resized images: one memory-mapped uint8 array per dataset.

Decoding and resizing JPEG / BMP files costs about as much CPU per image as a
GPU spends training on it; a pack does that work once. ``PACK.npy`` holds
``[N, H, W, 3]`` uint8 images in OpenCV's BGR order, resized exactly as the
``Resize`` transform of the pipelines does (its ``interpolation`` and
``backend``, aspect ratio not kept); ``PACK.json`` beside it records that
resize and lists the images' paths relative to the dataset root, so a
dataset copied elsewhere keeps its pack.
"""
import json
import os
import os.path as osp
from multiprocessing import Pool
from typing import Dict, Optional, Sequence, Tuple

import mmcv
import numpy as np
from mmengine.utils import ProgressBar

PACK_FORMAT = 'vireid-packed-images'
PACK_VERSION = 1
# mmcv's Resize defaults, and the resize of a pack whose index records none
DEFAULT_RESIZE = dict(interpolation='bilinear', backend='cv2')


def pack_file_name(img_hw: Tuple[int, int], interpolation: str = DEFAULT_RESIZE['interpolation'],
                   backend: str = DEFAULT_RESIZE['backend']) -> str:
    """The pack of a dataset at one image size and resize, in its root.

    ``packed_{H}x{W}.npy`` for mmcv's default resize (cv2, bilinear),
    ``packed_{H}x{W}_{backend}_{interpolation}.npy`` for another.
    """
    height, width = img_hw
    if dict(interpolation=interpolation, backend=backend) == DEFAULT_RESIZE:
        return f'packed_{height}x{width}.npy'
    return f'packed_{height}x{width}_{backend}_{interpolation}.npy'


def index_path(pack_file: str) -> str:
    """The JSON index beside ``pack_file`` (``x.npy`` -> ``x.json``)."""
    return osp.splitext(pack_file)[0] + '.json'


# bad files named in one error, at most (the rest are counted)
MAX_NAMED_FAILURES = 20


def _load_resized(job: Tuple[str, Tuple[int, int], str, str]):
    """The resized image, or the loader's error naming the file (packing goes on to find them all)."""
    # the pipelines' loader, for its errors that name the file at fault
    from .transforms.loading import LoadReIDImageFromFile
    path, (height, width), interpolation, backend = job
    try:
        img = LoadReIDImageFromFile().transform(dict(img_path=path))['img']
    except (OSError, ValueError) as error:
        return str(error)
    return mmcv.imresize(img, (width, height), interpolation=interpolation, backend=backend)


def _failure_report(failures: Sequence[str], total: int) -> str:
    named = '\n  '.join(failures[:MAX_NAMED_FAILURES])
    more = len(failures) - MAX_NAMED_FAILURES
    return (f'{len(failures)} of {total} images could not be packed (nothing was written):\n  '
            f'{named}' + (f'\n  ... and {more} more' if more > 0 else ''))


def pack_images(img_paths: Sequence[str], root: str, pack_file: str,
                img_hw: Tuple[int, int], workers: int = 0,
                progress: bool = True, interpolation: str = DEFAULT_RESIZE['interpolation'],
                backend: str = DEFAULT_RESIZE['backend']) -> str:
    """Decode, resize (``mmcv.imresize`` with ``interpolation`` and
    ``backend``, as mmcv's ``Resize``) and store ``img_paths`` (files under
    ``root``) in ``pack_file``.

    The array is written under a temporary name and renamed, and the index
    after it, so an interrupted run never leaves a pack that looks complete.

    Returns:
        str: ``pack_file``.
    """
    root = osp.abspath(root)
    paths = sorted(set(osp.abspath(p) for p in img_paths))
    outside = [p for p in paths if not p.startswith(root + os.sep)]
    if outside:
        raise ValueError(f'{len(outside)} images are not under the root {root}, '
                         f'e.g. {outside[0]}')
    if not paths:
        raise ValueError(f'no images to pack under {root}')
    height, width = img_hw
    os.makedirs(osp.dirname(osp.abspath(pack_file)) or '.', exist_ok=True)
    tmp = pack_file + '.tmp.npy'
    array = np.lib.format.open_memmap(tmp, mode='w+', dtype=np.uint8,
                                      shape=(len(paths), height, width, 3))
    jobs = [(p, (height, width), interpolation, backend) for p in paths]
    bar = ProgressBar(len(jobs)) if progress else None
    pool = Pool(workers) if workers > 1 else None
    try:
        images = pool.imap(_load_resized, jobs, chunksize=64) if pool else map(_load_resized, jobs)
        failures = []
        for row, img in enumerate(images):
            if isinstance(img, str):
                failures.append(img)
            else:
                array[row] = img
            if bar:
                bar.update()
        if failures:
            raise ValueError(_failure_report(failures, len(jobs)))
        array.flush()
    except BaseException:
        # the temporary array has the full pack's size (GBs for SYSU-MM01)
        del array
        os.remove(tmp)
        raise
    finally:
        if pool:
            pool.terminate()
    del array
    os.replace(tmp, pack_file)
    index = dict(format=PACK_FORMAT, version=PACK_VERSION, root=root, img_hw=[height, width],
                 resize=dict(interpolation=interpolation, backend=backend),
                 channel_order='bgr', paths=[osp.relpath(p, root) for p in paths])
    with open(index_path(pack_file) + '.tmp', 'w') as f:
        json.dump(index, f)
    os.replace(index_path(pack_file) + '.tmp', index_path(pack_file))
    if bar:
        print()
    return pack_file


class PackedImages:
    """Read access to a pack: ``images[img_path] -> [H, W, 3]`` uint8 (a copy).

    The array is memory-mapped on first use in each process (dataloader
    workers share the page cache, not copies), and left out of pickling.

    Args:
        pack_file: the ``.npy`` written by :func:`pack_images`.
        root: the dataset root the paths are relative to; default the root
            recorded at packing time.
    """

    def __init__(self, pack_file: str, root: Optional[str] = None):
        self.pack_file = pack_file
        meta_file = index_path(pack_file)
        if not osp.isfile(pack_file) or not osp.isfile(meta_file):
            raise FileNotFoundError(
                f'image pack {pack_file} (or its index {meta_file}) not found; write it '
                'with tools/dataset_converters/pack_images.py CONFIG')
        try:
            with open(meta_file) as f:
                meta = json.load(f)
        except ValueError as error:
            raise ValueError(f'{meta_file}: not a JSON pack index ({error})') from None
        if meta.get('format') != PACK_FORMAT or meta.get('version') != PACK_VERSION:
            raise ValueError(f'{meta_file}: not a {PACK_FORMAT} v{PACK_VERSION} index '
                             f'(format={meta.get("format")!r}, version={meta.get("version")!r})')
        self.root = osp.abspath(root or meta['root'])
        self.img_hw = tuple(meta['img_hw'])
        self.resize = dict(meta.get('resize', DEFAULT_RESIZE))
        self._rows: Dict[str, int] = {p: i for i, p in enumerate(meta['paths'])}
        self._array = None

    def __len__(self) -> int:
        return len(self._rows)

    def __getstate__(self):
        state = self.__dict__.copy()
        state['_array'] = None
        return state

    @property
    def array(self) -> np.ndarray:
        if self._array is None:
            self._array = np.load(self.pack_file, mmap_mode='r')
            expected = (len(self._rows), *self.img_hw, 3)
            if self._array.shape != expected or self._array.dtype != np.uint8:
                raise ValueError(f'{self.pack_file}: array {self._array.dtype} '
                                 f'{self._array.shape} does not match its index '
                                 f'(uint8 {expected}); pack it again')
        return self._array

    def __getitem__(self, img_path: str) -> np.ndarray:
        key = osp.relpath(osp.abspath(img_path), self.root)
        row = self._rows.get(key)
        if row is None:
            raise KeyError(f'{img_path}: not in the image pack {self.pack_file} (paths '
                           f'relative to {self.root}); pack the dataset again with '
                           'tools/dataset_converters/pack_images.py')
        return np.array(self.array[row])
