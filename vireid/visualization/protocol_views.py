"""One protocol mode x trial of a results dump: its queries, its gallery and
their distances, cut exactly as :class:`VIReIDMetric` cuts them.

The analysis tools start here so that a ranked list, a CMC curve or a
per-query AP shown in a picture is the number the metric reported: the
gallery comes from the evaluation's own sampling functions, the scores from
its ``eval_*`` functions.
"""
from dataclasses import dataclass
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from vireid.evaluation.functional import (eval_llcm, eval_regdb, eval_sysu,
                                          load_sysu_perm,
                                          reference_gallery_trial,
                                          sysu_gallery_trial)
from vireid.evaluation.functional.rank_metrics import SYSU_SAME_ROOM
from vireid.evaluation.metrics.vireid_metric import (HEADLINE_MODE,
                                                     PROTOCOL_MODES)
from vireid.evaluation.results_dump import ReIDResults
from vireid.structures import INFRARED, VISIBLE

EVAL_FUNCTIONS = {'sysu': eval_sysu, 'regdb': eval_regdb, 'llcm': eval_llcm}
# (query modality, gallery modality) of each cross-modality mode
DIRECTIONS = {'vis2ir': (VISIBLE, INFRARED), 'ir2vis': (INFRARED, VISIBLE)}


@dataclass
class TrialView:
    """Indices into the dump of one mode's queries and one trial's gallery,
    and their ``(num_query, num_gallery)`` distance matrix."""
    mode: str
    trial: int
    query: np.ndarray
    gallery: np.ndarray
    dist: torch.Tensor


def check_mode(results: ReIDResults, mode: str) -> str:
    """``mode`` itself, or the protocol's headline mode for ``None``."""
    modes = PROTOCOL_MODES.get(results.protocol)
    if modes is None:
        raise ValueError(f'unknown protocol {results.protocol!r} in the dump;'
                         f' known: {tuple(PROTOCOL_MODES)}')
    if mode is None:
        return HEADLINE_MODE[results.protocol]
    if mode not in modes:
        raise ValueError(f'mode {mode!r} is not a {results.protocol} mode; '
                         f'choose from {modes}')
    return mode


def num_trials(results: ReIDResults, mode: str) -> int:
    """RegDB's test split is one gallery; SYSU and LLCM draw the metric's
    ``num_trials`` galleries."""
    return 1 if results.protocol == 'regdb' else results.num_trials


def _distance(results: ReIDResults, query: np.ndarray,
              gallery: np.ndarray) -> torch.Tensor:
    # the metric's arithmetic: L2-normalise, then 1 - q.g or Euclidean
    feats = F.normalize(torch.from_numpy(results.features), dim=1)
    q, g = feats[torch.from_numpy(query)], feats[torch.from_numpy(gallery)]
    if results.distance == 'cosine':
        return 1.0 - q @ g.T
    if results.distance == 'euclidean':
        return torch.cdist(q, g)
    raise ValueError(f'unknown distance {results.distance!r} in the dump')


def _gallery_trial(results: ReIDResults, mode: str, pool: np.ndarray,
                   trial: int) -> np.ndarray:
    paths = results.img_path[pool]
    pids, cams = results.pid[pool], results.camid[pool]
    if results.protocol == 'sysu':
        search, _, shots = mode.partition('-')
        perm = (load_sysu_perm(results.perm_file)
                if results.sampling == 'official' else None)
        num_shots = results.num_shots[0 if shots == 'single' else 1]
        return sysu_gallery_trial(paths, pids, cams, trial, search, num_shots,
                                  perm)
    if results.protocol == 'llcm':
        return reference_gallery_trial(paths, pids, cams, trial,
                                       sorted(set(cams.tolist())))
    return np.arange(len(pool))


def trial_view(results: ReIDResults, mode: str = None,
               trial: int = 0) -> TrialView:
    """Queries, gallery and distances of ``mode`` in ``trial``."""
    mode = check_mode(results, mode)
    if not 0 <= trial < num_trials(results, mode):
        raise ValueError(f'trial {trial} is out of range for '
                         f'{results.protocol} (0..'
                         f'{num_trials(results, mode) - 1})')
    if results.protocol == 'sysu':
        q_mod, g_mod = INFRARED, VISIBLE
    else:
        q_mod, g_mod = DIRECTIONS[mode]
    query = np.flatnonzero(results.modality == q_mod)
    pool = np.flatnonzero(results.modality == g_mod)
    if query.size == 0 or pool.size == 0:
        raise ValueError(f'the dump has no {"visible" if query.size else "infrared"}'
                         ' images')
    if results.protocol == 'sysu':
        dist = _distance(results, query, pool)
    else:  # the metric measures visible x infrared once, ir2vis transposes
        vis, ir = (query, pool) if mode == 'vis2ir' else (pool, query)
        dist = _distance(results, vis, ir)
        dist = dist if mode == 'vis2ir' else dist.T
    if results.protocol == 'llcm' and mode == 'vis2ir' and results.llcm_vis2ir == 'deen':
        # the trial's drawn infrared images are the queries, every visible image the gallery
        drawn = _gallery_trial(results, mode, pool, trial)
        return TrialView(mode, trial, pool[drawn], query,
                         dist.T.index_select(0, torch.from_numpy(drawn)))
    picked = _gallery_trial(results, mode, pool, trial)
    return TrialView(mode, trial, query, pool[picked],
                     dist.index_select(1, torch.from_numpy(picked)))


def evaluate_view(results: ReIDResults, view: TrialView,
                  max_rank: int = 20) -> Tuple[np.ndarray, float, float]:
    """``(cmc, mAP, mINP)`` of the view by the protocol's ``eval_*``."""
    q, g = view.query, view.gallery
    fn = EVAL_FUNCTIONS[results.protocol]
    if results.protocol == 'regdb':
        return fn(view.dist, results.pid[q], results.pid[g], max_rank)
    return fn(view.dist, results.pid[q], results.pid[g], results.camid[q],
              results.camid[g], max_rank)


def mean_cmc(results: ReIDResults, mode: str = None, max_rank: int = 20,
             trials: int = None) -> Dict[str, np.ndarray]:
    """CMC, mAP and mINP averaged over the first ``trials`` trials (all of
    them by default), as fractions."""
    mode = check_mode(results, mode)
    trials = trials or num_trials(results, mode)
    scores = [evaluate_view(results, trial_view(results, mode, t), max_rank)
              for t in range(trials)]
    return dict(cmc=np.mean([s[0] for s in scores], axis=0),
                mAP=float(np.mean([s[1] for s in scores])),
                mINP=float(np.mean([s[2] for s in scores])))


def removed_columns(results: ReIDResults, view: TrialView,
                    row: int) -> np.ndarray:
    """Gallery columns the protocol hides from query ``row`` (the same rules
    as the ``eval_*`` functions: SYSU's shared room, LLCM's same person and
    camera)."""
    q = view.query[row]
    g_cams, g_pids = results.camid[view.gallery], results.pid[view.gallery]
    if results.protocol == 'sysu':
        if results.camid[q] != SYSU_SAME_ROOM[0]:
            return np.zeros(len(g_cams), dtype=bool)
        return g_cams == SYSU_SAME_ROOM[1]
    if results.protocol == 'llcm':
        return (g_pids == results.pid[q]) & (g_cams == results.camid[q])
    return np.zeros(len(g_cams), dtype=bool)


def per_query_ap(results: ReIDResults, view: TrialView) -> np.ndarray:
    """AP of every query (NaN where no true match is left to find)."""
    ap = np.full(len(view.query), np.nan)
    g_pids = results.pid[view.gallery]
    for row, q in enumerate(view.query):
        kept = ~removed_columns(results, view, row)
        if not np.any(kept & (g_pids == results.pid[q])):
            continue
        one = TrialView(view.mode, view.trial, view.query[row:row + 1],
                        view.gallery, view.dist[row:row + 1])
        ap[row] = evaluate_view(results, one, max_rank=1)[1]
    return ap


def ranked_gallery(results: ReIDResults, view: TrialView, row: int,
                   topk: int) -> Tuple[np.ndarray, np.ndarray]:
    """Dump indices and distances of the ``topk`` closest gallery images
    query ``row`` sees (ties in gallery order, as the metric breaks them)."""
    dist = view.dist[row].numpy()
    order = np.argsort(dist, kind='stable')
    order = order[~removed_columns(results, view, row)[order]][:topk]
    return view.gallery[order], dist[order]
