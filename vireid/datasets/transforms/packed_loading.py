"""Image loading from an image pack (tools/dataset_converters/pack_images.py)."""
import os.path as osp
from typing import Optional, Sequence

from mmcv.transforms import BaseTransform

from vireid.registry import TRANSFORMS
from ..packed_images import DEFAULT_RESIZE, PackedImages


@TRANSFORMS.register_module()
class LoadReIDImageFromPack(BaseTransform):
    """Take the already resized image of ``img_path`` from an image pack.

    Replaces ``LoadReIDImageFromFile`` + ``Resize`` (what
    ``tools/dataset_converters/pack_images.py`` did once for every image);
    the random augmentations then run on the GPU in the data preprocessor
    (its ``batch_augments``), so a worker only copies bytes.

    Args:
        pack_file: the ``.npy`` of a pack (``vireid.datasets.packed_images``).
            A relative name (``'packed_288x144_pillow_lanczos.npy'``, the tool's default)
            is looked for in the folders above the first image, so it
            follows the dataset's ``data_root`` wherever that points.
        img_size: ``(H, W)`` the model expects; a pack of another size is
            refused instead of silently feeding other inputs.
        interpolation, backend: the ``Resize`` the pack stands in for
            (mmcv's names; default its cv2 bilinear); a pack resized
            otherwise is refused too.

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``,
    ``ori_shape``.
    """

    def __init__(self, pack_file: str, img_size: Optional[Sequence[int]] = None,
                 interpolation: str = DEFAULT_RESIZE['interpolation'],
                 backend: str = DEFAULT_RESIZE['backend']):
        self.pack_file = pack_file
        self.img_size = tuple(img_size) if img_size is not None else None
        self.resize = dict(interpolation=interpolation, backend=backend)
        self._images: Optional[PackedImages] = None

    def _open(self, img_path: str) -> PackedImages:
        root = None
        pack_file = self.pack_file
        if not osp.isabs(pack_file):
            folder = osp.dirname(osp.abspath(img_path))
            while not osp.isfile(osp.join(folder, pack_file)):
                parent = osp.dirname(folder)
                if parent == folder:
                    raise FileNotFoundError(
                        f'no image pack {pack_file} in any folder above {img_path}; '
                        'write it with tools/dataset_converters/pack_images.py CONFIG')
                folder = parent
            root, pack_file = folder, osp.join(folder, pack_file)
        images = PackedImages(pack_file, root)
        if self.img_size is not None and self.img_size != images.img_hw:
            raise ValueError(f'{pack_file} holds {images.img_hw[0]}x{images.img_hw[1]} '
                             f'images, the pipeline expects {self.img_size[0]}x'
                             f'{self.img_size[1]}: pack it at that size (--img-size)')
        if images.resize != self.resize:
            raise ValueError(f'{pack_file} was resized with {images.resize}, the pipeline '
                             f'expects {self.resize}: pack it again from the config')
        return images

    def transform(self, results: dict) -> dict:
        if self._images is None:
            self._images = self._open(results['img_path'])
        img = self._images[results['img_path']]
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(pack_file={self.pack_file!r}, '
                f'img_size={self.img_size}, interpolation={self.resize["interpolation"]!r}, '
                f'backend={self.resize["backend"]!r})')
