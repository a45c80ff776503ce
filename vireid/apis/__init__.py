"""Inference: build a model, embed images, rank a gallery."""
from .inference import build_test_pipeline, extract_features, init_model
from .retrieval import RankedMatch, pairwise_distance, rank_gallery, retrieve

__all__ = [
    'init_model', 'extract_features', 'build_test_pipeline', 'retrieve',
    'rank_gallery', 'pairwise_distance', 'RankedMatch'
]
