"""Losses: one pure function per equation, thin registered modules around them.

Cross-entropy with or without label smoothing is mmpretrain's
``CrossEntropyLoss`` / ``LabelSmoothLoss`` (reachable from the vireid registry).
"""
from .distance import euclidean_distance, same_label_masks
from .triplet import TripletLoss, hard_triplet_loss
from .wrt import (WRTLoss, masked_softmax_weights,
                  weighted_regularization_triplet_loss)
from .centers import identity_centers, modality_centers
from .fmcnet_losses import (CrossModalityCenterLoss, ModalityDecompositionLoss,
                            decorrelation_loss, discriminator_accuracy,
                            discriminator_loss, feature_consistency_loss,
                            generator_adversarial_loss, identity_consistency_loss,
                            per_modality_cross_entropy, shared_separation_loss,
                            specific_separation_loss)
from .mclnet_losses import (MarginalCenterAggregationLoss, ModalityClassificationLoss,
                            ModalityConfusionLoss,
                            center_aggregation_term, center_separation_term,
                            marginal_center_aggregation_loss, modality_accuracy,
                            modality_classification_loss, modality_confusion_loss)

__all__ = [
    'euclidean_distance', 'same_label_masks', 'hard_triplet_loss',
    'TripletLoss', 'weighted_regularization_triplet_loss',
    'masked_softmax_weights', 'WRTLoss', 'identity_centers',
    'modality_centers', 'CrossModalityCenterLoss',
    'ModalityDecompositionLoss', 'decorrelation_loss',
    'discriminator_accuracy', 'discriminator_loss',
    'feature_consistency_loss', 'generator_adversarial_loss',
    'identity_consistency_loss', 'per_modality_cross_entropy',
    'shared_separation_loss', 'specific_separation_loss',
    'MarginalCenterAggregationLoss', 'ModalityClassificationLoss',
    'ModalityConfusionLoss', 'center_aggregation_term',
    'center_separation_term', 'marginal_center_aggregation_loss',
    'modality_accuracy', 'modality_classification_loss',
    'modality_confusion_loss'
]
