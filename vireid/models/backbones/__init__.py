from .non_local import NonLocal2d
from .routing import plan_routes, plan_to, run_routes
from .two_stream_resnet import (ResNetBranch, TwoStreamResNet,
                                init_resnet_from_scratch,
                                load_resnet_state_dict, map_resnet_state_dict)

__all__ = [
    'NonLocal2d', 'ResNetBranch', 'TwoStreamResNet',
    'init_resnet_from_scratch', 'load_resnet_state_dict',
    'map_resnet_state_dict', 'plan_routes', 'plan_to', 'run_routes'
]
