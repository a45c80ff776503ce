from .reid_data_sample import (INFRARED, LABEL_KEYS, VISIBLE, ReIDDataSample,
                               batch_labels)

__all__ = ['ReIDDataSample', 'batch_labels', 'LABEL_KEYS', 'VISIBLE', 'INFRARED']
