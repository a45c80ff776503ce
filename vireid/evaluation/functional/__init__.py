"""Pure functions of the evaluation: ranking metrics and gallery sampling."""
from .gallery_sampling import (SYSU_GALLERY_CAMERAS, load_sysu_perm,
                               official_gallery_trial,
                               reference_gallery_trial, sysu_gallery_trial)
from .rank_metrics import eval_llcm, eval_regdb, eval_sysu, evaluate_rank
from .reranking import k_reciprocal_rerank, query_expansion

__all__ = [
    'eval_sysu', 'eval_regdb', 'eval_llcm', 'evaluate_rank',
    'sysu_gallery_trial', 'reference_gallery_trial', 'official_gallery_trial',
    'load_sysu_perm', 'SYSU_GALLERY_CAMERAS', 'k_reciprocal_rerank',
    'query_expansion'
]
