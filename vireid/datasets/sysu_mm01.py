"""SYSU-MM01 (Wu et al., ICCV 2017)."""
import os.path as osp
from typing import List

from vireid.registry import DATASETS
from vireid.structures import INFRARED, VISIBLE
from .base_vireid_dataset import IMAGE_EXTENSIONS, BaseVIReIDDataset
from .split_files import list_images, read_id_list, require_dir

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
        train_files = [osp.join(exp, 'train_id.txt'),
                       osp.join(exp, 'val_id.txt')]
        id_files = (train_files if self.split == 'train' else
                    [osp.join(exp, 'test_id.txt')])
        num_classes = len(
            {pid for f in train_files for pid in read_id_list(f)})

        cam_dirs = {}
        for cam in RGB_CAMERAS + IR_CAMERAS:
            cam_dirs[cam] = osp.join(self.data_root, f'cam{cam}')
            require_dir(cam_dirs[cam], f'SYSU-MM01 camera {cam} folders '
                        '<pid:04d>/<n:04d>.jpg')

        data_list = []
        seen = set()
        for id_file in id_files:
            for pid in read_id_list(id_file):
                if pid in seen:  # an id both in train and val
                    raise ValueError(f'{id_file}: identity {pid} is also '
                                     'in an earlier split file')
                seen.add(pid)
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
