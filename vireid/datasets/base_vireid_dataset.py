"""Common part of the visible-infrared ReID datasets."""
import os.path as osp
from typing import List, Sequence, Union

from mmengine.dataset import BaseDataset
from mmengine.logging import print_log

from vireid.registry import TRANSFORMS
from vireid.structures import INFRARED, VISIBLE
from .split_files import require_dir

IMAGE_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.bmp')
MODALITY_NAMES = {VISIBLE: 'visible', INFRARED: 'infrared'}


class BaseVIReIDDataset(BaseDataset):
    """One image per index; each data info holds ``img_path`` (absolute),
    ``gt_label`` (train: 0..N-1 over training ids in ascending pid order;
    test: -1), ``pid``, ``camid`` and ``modality`` (0 visible, 1 infrared).

    Subclasses implement :meth:`load_data_list` with :meth:`_make_info` and
    :meth:`_finish`. ``metainfo`` carries ``protocol`` (read by the metric),
    ``num_classes`` (training identities, on both splits) and
    ``num_cameras``.

    Args:
        data_root (str): Dataset root in the dataset's official layout.
        split (str): ``'train'`` or ``'test'``.
        pipeline (list): Transforms (configs or callables).
        **kwargs: Passed to :class:`mmengine.dataset.BaseDataset`
            (``serialize_data``, ``lazy_init``, ``indices``, ...).
            ``test_mode`` defaults to ``split == 'test'``.
    """

    SPLITS = ('train', 'test')
    METAINFO: dict = dict()

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 pipeline: Sequence[Union[dict, callable]] = (),
                 **kwargs) -> None:
        if split not in self.SPLITS:
            raise ValueError(f'{type(self).__name__}: split must be one of '
                             f'{self.SPLITS}, got {split!r}')
        if not data_root:
            raise ValueError(f'{type(self).__name__}: data_root is empty')
        self.split = split
        kwargs.setdefault('test_mode', split == 'test')
        # Built through vireid's registry so that the transforms resolve
        # with or without a default scope (mmengine's Compose would look
        # them up in the root registry only).
        pipeline = [
            TRANSFORMS.build(t) if isinstance(t, dict) else t
            for t in pipeline
        ]
        super().__init__(
            data_root=osp.abspath(osp.expanduser(str(data_root))),
            pipeline=pipeline,
            **kwargs)

    def _check_root(self, layout: str) -> None:
        require_dir(self.data_root,
                    f'the {type(self).__name__} root holding {layout}')

    @staticmethod
    def _make_info(img_path: str, pid: int, camid: int, modality: int,
                   gt_label: int = -1) -> dict:
        return dict(img_path=img_path, gt_label=gt_label, pid=pid,
                    camid=camid, modality=modality)

    def _finish(self, data_list: List[dict], num_classes: int) -> List[dict]:
        """Sort, relabel training ids, record ``num_classes``, log a summary.

        Order: pid, modality, camera, path (deterministic whatever the order
        of the split files or of the file system's listing).
        """
        data_list.sort(key=lambda i: (i['pid'], i['modality'], i['camid'],
                                      i['img_path']))
        if self.split == 'train':
            pids = sorted({info['pid'] for info in data_list})
            relabel = {pid: label for label, pid in enumerate(pids)}
            for info in data_list:
                info['gt_label'] = relabel[info['pid']]
        self._metainfo['num_classes'] = num_classes
        print_log(self._summary(data_list), logger='current')
        return data_list

    def _summary(self, data_list: List[dict]) -> str:
        rows = [('modality', 'ids', 'images', 'cameras')]
        for modality, name in MODALITY_NAMES.items():
            infos = [i for i in data_list if i['modality'] == modality]
            cams = sorted({i['camid'] for i in infos})
            rows.append((name, str(len({i['pid'] for i in infos})),
                         str(len(infos)), ','.join(map(str, cams)) or '-'))
        rows.append(('total', str(len({i['pid'] for i in data_list})),
                     str(len(data_list)), ''))
        widths = [max(len(row[c]) for row in rows) for c in range(4)]
        lines = [
            '  '.join(c.ljust(w) for c, w in zip(row, widths)).rstrip()
            for row in rows
        ]
        title = (f'{type(self).__name__} ({self.split}, '
                 f'{self.data_root}):')
        return '\n'.join([title] + lines)
