"""LLCM (Zhang and Wang, CVPR 2023), the low-light cross-modality benchmark."""
import os.path as osp
import re
from typing import List

from vireid.registry import DATASETS
from vireid.structures import INFRARED, VISIBLE
from .base_vireid_dataset import IMAGE_EXTENSIONS, BaseVIReIDDataset
from .split_files import (check_entries_exist, list_images, read_id_list,
                          read_index_file, require_dir)

VIS_TEST_CAMERAS = tuple(range(1, 10))
NIR_TEST_CAMERAS = (1, 2, 4, 5, 6, 7, 8, 9)
_CAMERA = re.compile(r'(?:^|/)cam(\d+)(?:/|$)')


@DATASETS.register_module()
class LLCMDataset(BaseVIReIDDataset):
    """LLCM: ``idx/train_vis.txt`` and ``idx/train_nir.txt``
    (``<relpath> <label>``, relpath like ``train_vis/cam3/0001/x.jpg``),
    ``idx/test_id.txt`` (comma-separated ids) and the test images under
    ``test_vis/cam1..cam9/<pid:04d>/`` and
    ``test_nir/cam{1,2,4,5,6,7,8,9}/<pid:04d>/``.

    ``pid`` is the label in the index file (train) or the folder's id
    (test); ``camid`` is the ``camN`` folder's number in both modalities,
    as the published evaluation compares them across modalities.
    """

    METAINFO = dict(protocol='llcm', num_cameras=9)

    def load_data_list(self) -> List[dict]:
        self._check_root('idx/, train_vis/, train_nir/, test_vis/, test_nir/')
        idx = osp.join(self.data_root, 'idx')
        train_files = ((VISIBLE, osp.join(idx, 'train_vis.txt')),
                       (INFRARED, osp.join(idx, 'train_nir.txt')))
        train_entries = [(m, p, read_index_file(p)) for m, p in train_files]
        num_classes = len({e.label for _, _, es in train_entries for e in es})
        if self.split == 'train':
            data_list = []
            for modality, path, entries in train_entries:
                check_entries_exist(self.data_root, entries, path)
                for e in entries:
                    data_list.append(self._make_info(
                        osp.join(self.data_root, osp.normpath(e.relpath)),
                        e.label, self._camera_of(e.relpath, path, e.lineno),
                        modality))
        else:
            data_list = self._load_test(osp.join(idx, 'test_id.txt'))
        return self._finish(data_list, num_classes)

    @staticmethod
    def _camera_of(relpath: str, index_path: str, lineno: int) -> int:
        match = _CAMERA.search(relpath.replace('\\', '/'))
        if match is None:
            raise ValueError(f'{index_path}, line {lineno}: no "camN" folder '
                             f'in image path {relpath!r}')
        return int(match.group(1))

    def _load_test(self, id_file: str) -> List[dict]:
        folders = []
        for modality, top, cams in ((VISIBLE, 'test_vis', VIS_TEST_CAMERAS),
                                    (INFRARED, 'test_nir', NIR_TEST_CAMERAS)):
            for cam in cams:
                folder = osp.join(self.data_root, top, f'cam{cam}')
                require_dir(folder, f'LLCM {top} camera {cam} folders '
                            '<pid:04d>/*.jpg')
                folders.append((modality, cam, folder))
        data_list = []
        for pid in read_id_list(id_file):
            infos = []
            for modality, cam, folder in folders:
                pid_dir = osp.join(folder, f'{pid:04d}')
                if osp.isdir(pid_dir):
                    infos.extend(
                        self._make_info(osp.join(pid_dir, name), pid, cam,
                                        modality)
                        for name in list_images(pid_dir, IMAGE_EXTENSIONS))
            if not infos:
                raise ValueError(
                    f'{id_file}: identity {pid} has no images under '
                    f'{self.data_root}/test_vis or test_nir/cam*/{pid:04d}/')
            data_list.extend(infos)
        return data_list
