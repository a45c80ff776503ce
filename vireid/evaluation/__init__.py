"""Evaluation: ranking functions, gallery sampling and ``VIReIDMetric``."""
from .functional import (eval_llcm, eval_regdb, eval_sysu, evaluate_rank,
                         k_reciprocal_rerank, load_sysu_perm, query_expansion,
                         sysu_gallery_trial)
from .metrics import (VIReIDMetric, average_runs, dump_results, format_protocol_table,
                      load_results)

__all__ = [
    'eval_sysu', 'eval_regdb', 'eval_llcm', 'evaluate_rank',
    'sysu_gallery_trial', 'load_sysu_perm', 'VIReIDMetric',
    'format_protocol_table', 'dump_results', 'k_reciprocal_rerank',
    'query_expansion', 'average_runs', 'load_results'
]
