"""RegDB (Nguyen et al., Sensors 2017)."""
import os.path as osp
from typing import List

from vireid.registry import DATASETS
from vireid.structures import INFRARED, VISIBLE
from .base_vireid_dataset import BaseVIReIDDataset
from .split_files import check_entries_exist, read_index_file

VISIBLE_CAMID, THERMAL_CAMID = 1, 2


@DATASETS.register_module()
class RegDBDataset(BaseVIReIDDataset):
    """RegDB: ``Visible/<pid>/*.bmp``, ``Thermal/<pid>/*.bmp`` and
    ``idx/{train,test}_{visible,thermal}_{trial}.txt`` (``<relpath> <label>``).

    Each trial (1..10) is a separate train/test split, so a dataset is built
    for one ``trial``. ``pid`` is the label in the index file; ``camid`` is 1
    for visible and 2 for thermal. ``split='test'`` holds the trial's test
    visible then test thermal images (the metric evaluates both directions).
    """

    METAINFO = dict(protocol='regdb', num_cameras=2)

    def __init__(self, data_root: str, split: str = 'train', trial: int = 1,
                 **kwargs) -> None:
        if isinstance(trial, bool) or not isinstance(trial, int) or trial < 1:
            raise ValueError(f'RegDBDataset: trial must be an integer >= 1 '
                             f'(1..10 in the official splits), got {trial!r}')
        self.trial = trial
        super().__init__(data_root, split=split, **kwargs)
        self._metainfo['trial'] = trial

    def _index_path(self, split: str, modality: str) -> str:
        return osp.join(self.data_root, 'idx',
                        f'{split}_{modality}_{self.trial}.txt')

    def load_data_list(self) -> List[dict]:
        self._check_root('Visible/, Thermal/ and idx/')
        train_labels = set()
        for modality in ('visible', 'thermal'):
            train_labels.update(
                e.label
                for e in read_index_file(self._index_path('train', modality)))

        data_list = []
        for modality, name, camid in ((VISIBLE, 'visible', VISIBLE_CAMID),
                                      (INFRARED, 'thermal', THERMAL_CAMID)):
            index_path = self._index_path(self.split, name)
            entries = read_index_file(index_path)
            check_entries_exist(self.data_root, entries, index_path)
            data_list.extend(
                self._make_info(
                    osp.join(self.data_root, osp.normpath(e.relpath)),
                    e.label, camid, modality) for e in entries)
        return self._finish(data_list, len(train_labels))
