"""Image loading that fails loudly, naming the file."""
import mmcv
import mmengine.fileio as fileio
import numpy as np
from mmcv.transforms import LoadImageFromFile

from vireid.registry import TRANSFORMS


@TRANSFORMS.register_module()
class LoadReIDImageFromFile(LoadImageFromFile):
    """Load a 3-channel uint8 image (BGR, as OpenCV decodes it).

    Unlike mmcv's loader, a missing, empty or undecodable file raises an
    error that names the file instead of an ``AssertionError`` or ``None``
    that surfaces later in the pipeline, far from its cause. Infrared
    images (often single-channel BMP/JPEG) are read as 3 channels because
    ``color_type`` defaults to ``'color'``, so both modalities share one
    tensor layout.

    Required keys: ``img_path``. Added keys: ``img``, ``img_shape``,
    ``ori_shape``.
    """

    def transform(self, results: dict) -> dict:
        filename = results['img_path']
        try:
            img_bytes = fileio.get(filename, backend_args=self.backend_args)
        except FileNotFoundError:
            raise FileNotFoundError(f'{filename}: image not found') from None
        if not img_bytes:
            raise ValueError(f'{filename}: image file is empty (0 bytes)')
        try:
            img = mmcv.imfrombytes(
                img_bytes, flag=self.color_type,
                backend=self.imdecode_backend)
        except Exception as error:
            raise ValueError(
                f'{filename}: cannot decode image ({error})') from error
        if img is None or img.size == 0:
            raise ValueError(f'{filename}: cannot decode image (corrupt or '
                             'not an image)')
        if img.ndim == 2:
            # Only reachable with color_type='grayscale'/'unchanged': keep
            # the HWC layout that the later transforms expect.
            img = np.repeat(img[..., None], 3, axis=2)
        if self.to_float32:
            img = img.astype(np.float32)
        results['img'] = img
        results['img_shape'] = img.shape[:2]
        results['ori_shape'] = img.shape[:2]
        return results
