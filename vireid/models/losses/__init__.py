"""Losses: one pure function per equation, thin registered modules around them.

Cross-entropy with or without label smoothing is mmpretrain's
``CrossEntropyLoss`` / ``LabelSmoothLoss`` (reachable from the vireid registry).
"""
from .distance import euclidean_distance, same_label_masks
from .triplet import TripletLoss, hard_triplet_loss
from .wrt import (WRTLoss, masked_softmax_weights,
                  weighted_regularization_triplet_loss)

__all__ = [
    'euclidean_distance', 'same_label_masks', 'hard_triplet_loss',
    'TripletLoss', 'weighted_regularization_triplet_loss',
    'masked_softmax_weights', 'WRTLoss'
]
