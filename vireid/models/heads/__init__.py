from .bnneck_head import BNNeckHead, bnneck_bn
from .fmc import FeatureDiscriminator, FeatureGenerator
from .sff import (IdentityClassifier, SharedSpecificFusion, fused_person_feature,
                  weighted_fusion)
from .modality_classifier import ModalityClassifier

__all__ = [
    'BNNeckHead', 'bnneck_bn', 'FeatureDiscriminator', 'FeatureGenerator',
    'IdentityClassifier', 'SharedSpecificFusion', 'fused_person_feature',
    'weighted_fusion', 'ModalityClassifier'
]
