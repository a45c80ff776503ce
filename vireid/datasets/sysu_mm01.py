"""SYSU-MM01 (Wu et al., ICCV 2017)."""
import os.path as osp
from typing import List

from vireid.registry import DATASETS
from vireid.structures import INFRARED, VISIBLE
from .base_vireid_dataset import IMAGE_EXTENSIONS, BaseVIReIDDataset
from .split_files import check_disjoint, list_images, read_id_list, require_dir

RGB_CAMERAS = (1, 2, 4, 5)
IR_CAMERAS = (3, 6)


@DATASETS.register_module()
class SYSUMM01Dataset(BaseVIReIDDataset):
    """SYSU-MM01: ``cam1..cam6/<pid:04d>/<n:04d>.jpg`` and
    ``exp/{train,val,test}_id.txt``; RGB cameras 1,2,4,5, IR cameras 3,6.

    ``split='train'``: every image of the train + val identities in all six
    cameras (the papers' 395 ids). ``split='test'``: every image of the test
    identities, i.e. the IR queries (cameras 3, 6) and the whole RGB gallery
    pool (cameras 1, 2, 4, 5); the metric draws the per-trial galleries
    (all-search / indoor-search) from that pool.
    """

    METAINFO = dict(protocol='sysu', num_cameras=6)

    def load_data_list(self) -> List[dict]:
        self._check_root('cam1..cam6/ and exp/{train,val,test}_id.txt')
        exp = osp.join(self.data_root, 'exp')
        paths = [osp.join(exp, f'{name}_id.txt') for name in ('train', 'val', 'test')]
        id_lists = {path: read_id_list(path) for path in paths}
        check_disjoint(id_lists)
        train_files = paths[:2]
        id_files = train_files if self.split == 'train' else paths[2:]
        num_classes = sum(len(id_lists[f]) for f in train_files)

        cam_dirs = {}
        for cam in RGB_CAMERAS + IR_CAMERAS:
            cam_dirs[cam] = osp.join(self.data_root, f'cam{cam}')
            require_dir(cam_dirs[cam], f'SYSU-MM01 camera {cam} folders '
                        '<pid:04d>/<n:04d>.jpg')

        data_list = []
        for id_file in id_files:
            for pid in id_lists[id_file]:
                infos = self._identity_images(pid)
                if not infos:
                    raise ValueError(
                        f'{id_file}: identity {pid} has no images in any '
                        f'of {self.data_root}/cam1..cam6/{pid:04d}/')
                data_list.extend(infos)
        return self._finish(data_list, num_classes)

    def _identity_images(self, pid: int) -> List[dict]:
        infos = []
        for cam in sorted(RGB_CAMERAS + IR_CAMERAS):
            folder = osp.join(self.data_root, f'cam{cam}', f'{pid:04d}')
            if not osp.isdir(folder):
                continue
            modality = INFRARED if cam in IR_CAMERAS else VISIBLE
            for name in list_images(folder, IMAGE_EXTENSIONS):
                infos.append(self._make_info(
                    osp.join(folder, name), pid, cam, modality))
        return infos
