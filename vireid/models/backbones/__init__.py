from .non_local import NonLocal2d
from .routing import route_by_modality
from .two_stream_resnet import (ResNetBranch, TwoStreamResNet,
                                init_resnet_from_scratch,
                                load_resnet_state_dict, map_resnet_state_dict)

__all__ = [
    'NonLocal2d', 'ResNetBranch', 'TwoStreamResNet',
    'init_resnet_from_scratch', 'load_resnet_state_dict',
    'map_resnet_state_dict', 'route_by_modality'
]
