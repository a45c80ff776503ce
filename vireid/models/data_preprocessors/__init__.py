from .batch_augments import (BatchRandomCrop, BatchRandomErasing, BatchRandomFlip,
                             BatchRandomGrayscale)
from .reid_data_preprocessor import (IMAGENET_MEAN, IMAGENET_STD,
                                     ReIDDataPreprocessor)

__all__ = [
    'ReIDDataPreprocessor', 'IMAGENET_MEAN', 'IMAGENET_STD', 'BatchRandomCrop',
    'BatchRandomFlip', 'BatchRandomGrayscale', 'BatchRandomErasing'
]
