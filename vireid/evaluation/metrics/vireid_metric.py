"""Every published VI-ReID protocol from one embedding pass of the test set."""
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from vireid.registry import METRICS
from vireid.structures import INFRARED, VISIBLE
from ..functional import (eval_llcm, eval_regdb, eval_sysu,
                          k_reciprocal_rerank, load_sysu_perm,
                          query_expansion, reference_gallery_trial,
                          sysu_gallery_trial)
from ..results_dump import dump_reid_results

SYSU_MODES = ('all-single', 'all-multi', 'indoor-single', 'indoor-multi')
PROTOCOL_MODES = {
    'sysu': SYSU_MODES,
    'regdb': ('vis2ir', 'ir2vis'),
    'llcm': ('ir2vis', 'vis2ir'),
}
# The mode each paper's table leads with; its R1 / mAP are also reported
# as the top-level keys ``R1`` / ``mAP`` (what ``save_best`` watches).
HEADLINE_MODE = {'sysu': 'all-single', 'regdb': 'vis2ir', 'llcm': 'ir2vis'}
DISTANCES = ('cosine', 'euclidean')
# LLCM visible-to-infrared: 'deen' ranks all visible images for each infrared
# image drawn per trial (ZYK100/LLCM DEEN/test.py, test_mode [2, 1]: how the
# published LLCM numbers were measured); 'visible-queries' ranks a drawn
# infrared gallery for every visible image
LLCM_VIS2IR_RULES = ('deen', 'visible-queries')
RERANK_DEFAULTS = dict(k1=20, k2=6, lambda_value=0.3)
QUERY_EXPANSION_DEFAULTS = dict(k=5)


def _options(value: Union[bool, dict, None], defaults: dict,
             name: str) -> Optional[dict]:
    """``False``/``None`` -> off; ``True`` -> the defaults; a dict overrides them."""
    if value is None or value is False:
        return None
    if value is True:
        return dict(defaults)
    if not isinstance(value, dict):
        raise ValueError(f'{name} must be a bool or a dict of '
                         f'{sorted(defaults)}, got {value!r}')
    unknown = sorted(set(value) - set(defaults))
    if unknown:
        raise ValueError(f'{name}: unknown keys {unknown}; known: '
                         f'{sorted(defaults)}')
    return {**defaults, **value}


def _mode_parts(mode: str) -> Tuple[str, str]:
    search, _, shots = mode.partition('-')
    return search, shots


def _rows(split: tuple, index: np.ndarray) -> tuple:
    """The ``(features, pids, cams, paths)`` of ``split`` at ``index``."""
    features, pids, cams, paths = split
    return (features[torch.as_tensor(index, device=features.device)], pids[index],
            cams[index], [paths[i] for i in index])


@METRICS.register_module()
class VIReIDMetric(BaseMetric):
    """Cross-modality ReID metric: SYSU-MM01, RegDB and LLCM protocols.

    The test dataset holds the queries and the whole gallery pool; each
    image's embedding (``pred_feature``) is cached by :meth:`process`, the
    distance matrix is computed once per direction and every mode x trial
    slices its gallery columns out of it.

    Modes: SYSU ``all-single``, ``all-multi``, ``indoor-single``,
    ``indoor-multi`` (queries: infrared images; galleries sampled from the
    visible pool per trial); RegDB ``vis2ir`` and ``ir2vis`` (the trial's
    whole test split, one trial: RegDB's trials are separate models);
    LLCM ``ir2vis`` and ``vis2ir`` (galleries sampled per trial from the
    gallery modality like SYSU's reference rule).

    Output keys ``<protocol>/<mode>/<name>`` with names ``R1``, ``R5``, ...,
    ``mAP``, ``mINP`` (percent, mean over trials) and ``<name>_std``
    (population std over trials), plus ``R1`` and ``mAP`` of the headline
    mode (SYSU all-single, RegDB vis2ir, LLCM ir2vis) at the top level.

    Args:
        protocol (str, optional): ``'sysu'``, ``'regdb'`` or ``'llcm'``;
            ``None`` reads ``dataset_meta['protocol']``.
        modes (Sequence[str], optional): subset of the protocol's modes;
            ``None`` = all of them.
        num_trials (int): gallery draws for SYSU and LLCM. Default 10.
        num_shots (Sequence[int]): SYSU images per identity and camera of
            the ``single`` and ``multi`` modes. Default (1, 10).
        sampling (str): SYSU gallery rule, ``'reference'`` (seeded, the
            published baselines) or ``'official'`` (the kit's
            ``rand_perm_cam.mat``, needs ``perm_file``).
        perm_file (str, optional): path of ``rand_perm_cam.mat``.
        llcm_vis2ir (str): LLCM's visible-to-infrared rule. ``'deen'``
            (default, the LLCM authors' test code, which measured the
            published numbers): each trial draws one infrared image per id
            and camera, as for a gallery, and those are the queries, ranked
            against every visible image. ``'visible-queries'``: every
            visible image is a query against the drawn infrared gallery.
        max_rank (int): length of the CMC curves. Default 20.
        ranks (Sequence[int]): CMC ranks reported. Default (1, 5, 10, 20).
        distance (str): ``'cosine'`` (default; ``1 - q.g`` ranks like the
            published ``-q @ g.T`` on L2-normalised features) or
            ``'euclidean'``. Features are L2-normalised here either way.
        device (str, optional): where distances and sorting run; ``None``
            = ``'cuda'`` when available, else ``'cpu'``.
        rerank (bool | dict): also report k-reciprocal re-ranking
            (:func:`k_reciprocal_rerank`; ``True`` = k1 20, k2 6, lambda
            0.3, or a dict of those keys) under the modes
            ``<mode>+rerank``. Each trial is re-ranked with its own gallery
            and all queries (on the CPU).
        query_expansion (bool | dict): also report average query
            expansion (:func:`query_expansion`; ``True`` = top-5, or
            ``dict(k=...)``) under ``<mode>+qe``, the trial's gallery
            being the expansion set. With both: ``<mode>+qe+rerank`` too.
            The plain numbers (and the top-level ``R1`` / ``mAP``) never
            change.
        dump_path (str, optional): also write the cached features and
            labels there (``.npz``, see
            :mod:`vireid.evaluation.results_dump`) for the analysis tools.
        collect_device, prefix, collect_dir: see
            :class:`mmengine.evaluator.BaseMetric`.
    """

    default_prefix: Optional[str] = None

    def __init__(self,
                 protocol: Optional[str] = None,
                 modes: Optional[Sequence[str]] = None,
                 num_trials: int = 10,
                 num_shots: Sequence[int] = (1, 10),
                 sampling: str = 'reference',
                 perm_file: Optional[str] = None,
                 llcm_vis2ir: str = 'deen',
                 max_rank: int = 20,
                 ranks: Sequence[int] = (1, 5, 10, 20),
                 distance: str = 'cosine',
                 device: Optional[str] = None,
                 rerank: Union[bool, dict] = False,
                 query_expansion: Union[bool, dict] = False,
                 dump_path: Optional[str] = None,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None,
                 collect_dir: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix,
                         collect_dir=collect_dir)
        if protocol is not None and protocol not in PROTOCOL_MODES:
            raise ValueError(f'protocol must be one of '
                             f'{tuple(PROTOCOL_MODES)}, got {protocol!r}')
        if sampling not in ('reference', 'official'):
            raise ValueError("sampling must be 'reference' or 'official', "
                             f'got {sampling!r}')
        if sampling == 'official' and not perm_file:
            raise ValueError("sampling='official' needs perm_file (the "
                             "SYSU-MM01 kit's rand_perm_cam.mat)")
        if llcm_vis2ir not in LLCM_VIS2IR_RULES:
            raise ValueError(f'VIReIDMetric: llcm_vis2ir must be one of {LLCM_VIS2IR_RULES}, '
                             f'got {llcm_vis2ir!r}')
        if num_trials < 1:
            raise ValueError(f'num_trials must be >= 1, got {num_trials}')
        num_shots = tuple(int(n) for n in num_shots)
        if len(num_shots) != 2 or min(num_shots) < 1:
            raise ValueError('num_shots must be two positive ints (single, '
                             f'multi), got {num_shots}')
        bad_ranks = [r for r in ranks if not 1 <= int(r) <= max_rank]
        if bad_ranks:
            raise ValueError(f'ranks {bad_ranks} are outside 1..max_rank='
                             f'{max_rank}')
        if distance not in DISTANCES:
            raise ValueError(f'distance must be one of {DISTANCES}, got '
                             f'{distance!r}')
        self.protocol = protocol
        self.modes = None if modes is None else tuple(modes)
        self.num_trials = int(num_trials)
        self.num_shots = dict(single=num_shots[0], multi=num_shots[1])
        self.sampling = sampling
        self.perm_file = perm_file
        self.llcm_vis2ir = llcm_vis2ir
        self.max_rank = int(max_rank)
        self.ranks = tuple(int(r) for r in ranks)
        self.distance = distance
        self.device = device
        self.rerank = _options(rerank, RERANK_DEFAULTS, 'rerank')
        self.query_expansion = _options(query_expansion,
                                        QUERY_EXPANSION_DEFAULTS,
                                        'query_expansion')
        self.dump_path = dump_path

    # ------------------------------------------------------------ process
    def process(self, data_batch, data_samples: Sequence) -> None:
        """Cache each sample's embedding (on the CPU) and its labels."""
        for sample in data_samples:
            if isinstance(sample, BaseDataElement):
                meta = sample.metainfo
                feature = sample.get('pred_feature')
            else:
                meta = sample
                feature = sample.get('pred_feature')
            if feature is None:
                raise ValueError(
                    'VIReIDMetric: a data sample has no pred_feature (image '
                    f"{meta.get('img_path')}); the model's predict must set "
                    'it')
            missing = [k for k in ('pid', 'camid', 'modality')
                       if k not in meta]
            if missing:
                raise ValueError(f'VIReIDMetric: sample '
                                 f"{meta.get('img_path')} lacks {missing}")
            self.results.append(
                dict(feature=feature.detach().reshape(-1).float().cpu(),
                     pid=int(meta['pid']), camid=int(meta['camid']),
                     modality=int(meta['modality']),
                     img_path=str(meta.get('img_path', ''))))

    # ------------------------------------------------------------ compute
    def _resolve_protocol(self) -> str:
        protocol = self.protocol
        if protocol is None:
            protocol = (self.dataset_meta or {}).get('protocol')
        if protocol not in PROTOCOL_MODES:
            raise ValueError(
                'VIReIDMetric needs a protocol: pass protocol=... or use a '
                "dataset whose metainfo has 'protocol' in "
                f'{tuple(PROTOCOL_MODES)} (got {protocol!r})')
        return protocol

    def _resolve_modes(self, protocol: str) -> Tuple[str, ...]:
        known = PROTOCOL_MODES[protocol]
        modes = known if self.modes is None else self.modes
        unknown = [m for m in modes if m not in known]
        if unknown:
            raise ValueError(f'modes {unknown} are not {protocol} modes; '
                             f'choose from {known}')
        return tuple(modes)

    def _distance(self, query: torch.Tensor,
                  gallery: torch.Tensor) -> torch.Tensor:
        if self.distance == 'cosine':
            return 1.0 - query @ gallery.T
        return torch.cdist(query, gallery)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        if not results:
            raise ValueError('VIReIDMetric got no results to evaluate')
        protocol = self._resolve_protocol()
        modes = self._resolve_modes(protocol)
        device = self.device or ('cuda' if torch.cuda.is_available()
                                 else 'cpu')
        features = F.normalize(
            torch.stack([r['feature'] for r in results]).to(device), dim=1)
        labels = {key: np.asarray([r[key] for r in results])
                  for key in ('pid', 'camid', 'modality')}
        paths = [r['img_path'] for r in results]
        data = (features, labels, paths)
        if protocol == 'sysu':
            per_mode = self._sysu(data, modes)
        elif protocol == 'regdb':
            per_mode = self._cross(data, modes, sampled=False)
        else:
            per_mode = self._cross(data, modes, sampled=True)
        if self.dump_path:
            dump_reid_results(self.dump_path, results, protocol, self.distance,
                              self.sampling, self.perm_file,
                              (self.num_shots['single'],
                               self.num_shots['multi']), self.num_trials,
                              self.llcm_vis2ir)
        reported = tuple(mode + suffix for mode in modes
                         for suffix, _, _ in self._variants())
        return self._summarise(protocol, reported, per_mode)

    def _variants(self) -> List[Tuple[str, bool, bool]]:
        """``(mode suffix, expand queries, re-rank)`` of every reported ranking."""
        variants = [('', False, False)]
        if self.query_expansion:
            variants.append(('+qe', True, False))
        if self.rerank:
            variants.append(('+rerank', False, True))
        if self.query_expansion and self.rerank:
            variants.append(('+qe+rerank', True, True))
        return variants

    def _post_processed(self, q_feat: torch.Tensor, g_feat: torch.Tensor,
                        expand: bool, rerank: bool,
                        q_q: Optional[torch.Tensor]) -> torch.Tensor:
        """Query x gallery distances after query expansion and / or re-ranking."""
        if expand:
            q_feat = query_expansion(q_feat, g_feat,
                                     **self.query_expansion).to(g_feat.device)
        dist = self._distance(q_feat, g_feat)
        if not rerank:
            return dist
        if expand or q_q is None:
            q_q = self._distance(q_feat, q_feat)
        # 1 - q.g can come out a hair below zero in float32
        reranked = k_reciprocal_rerank(
            dist.clamp(min=0).cpu(), q_q.clamp(min=0).cpu(),
            self._distance(g_feat, g_feat).clamp(min=0).cpu(), **self.rerank)
        return torch.as_tensor(reranked)

    def _trial(self, eval_fn, per_mode: Dict[str, list], mode: str, query,
               gallery, dist: torch.Tensor, picked, q_q=None,
               with_cams: bool = True) -> None:
        """Score one trial (gallery columns ``picked``) in every variant."""
        q_feat, q_pids, q_cams, _ = query
        g_feat, g_pids, g_cams, _ = gallery
        cams = (q_cams, g_cams[picked]) if with_cams else ()
        columns = torch.as_tensor(picked, device=dist.device)
        for suffix, expand, rerank in self._variants():
            if not (expand or rerank):
                sub = dist.index_select(1, columns)
            else:
                sub = self._post_processed(q_feat,
                                           g_feat.index_select(0, columns),
                                           expand, rerank, q_q)
            per_mode.setdefault(mode + suffix, []).append(
                eval_fn(sub, q_pids, g_pids[picked], *cams, self.max_rank))

    def _split(self, data, modality: int):
        features, labels, paths = data
        index = np.flatnonzero(labels['modality'] == modality)
        if index.size == 0:
            name = 'visible' if modality == VISIBLE else 'infrared'
            raise ValueError(f'VIReIDMetric: the test set has no {name} '
                             'images')
        return (features[torch.as_tensor(index, device=features.device)],
                labels['pid'][index], labels['camid'][index],
                [paths[i] for i in index])

    def _sysu(self, data, modes) -> Dict[str, list]:
        query = self._split(data, INFRARED)
        gallery = self._split(data, VISIBLE)
        _, g_pids, g_cams, g_paths = gallery
        dist = self._distance(query[0], gallery[0])
        q_q = self._distance(query[0], query[0]) if self.rerank else None
        perm = (load_sysu_perm(self.perm_file)
                if self.sampling == 'official' else None)
        per_mode = {}
        for mode in modes:
            search, shots = _mode_parts(mode)
            for trial in range(self.num_trials):
                picked = sysu_gallery_trial(
                    g_paths, g_pids, g_cams, trial, search_mode=search,
                    num_shots=self.num_shots[shots], perm=perm)
                self._trial(eval_sysu, per_mode, mode, query, gallery, dist,
                            picked, q_q)
        return per_mode

    def _cross(self, data, modes, sampled: bool) -> Dict[str, list]:
        vis = self._split(data, VISIBLE)
        ir = self._split(data, INFRARED)
        vis_to_ir = self._distance(vis[0], ir[0])
        per_mode = {}
        for mode in modes:
            if mode == 'vis2ir':
                query, gallery, dist = vis, ir, vis_to_ir
            else:
                query, gallery, dist = ir, vis, vis_to_ir.T
            if not sampled:
                q_q = self._distance(query[0], query[0]) if self.rerank else None
                self._trial(eval_regdb, per_mode, mode, query, gallery, dist,
                            np.arange(len(gallery[1])), q_q, with_cams=False)
                continue
            drawn_queries = mode == 'vis2ir' and self.llcm_vis2ir == 'deen'
            drawn_from = ir if drawn_queries else gallery
            cameras = sorted(set(drawn_from[2].tolist()))
            q_q = (self._distance(query[0], query[0])
                   if self.rerank and not drawn_queries else None)
            for trial in range(self.num_trials):
                drawn = reference_gallery_trial(drawn_from[3], drawn_from[1],
                                                drawn_from[2], trial, cameras)
                if drawn_queries:  # the drawn infrared images rank the visible set
                    trial_query = _rows(ir, drawn)
                    trial_dist = vis_to_ir.T.index_select(
                        0, torch.as_tensor(drawn, device=vis_to_ir.device))
                    picked, trial_gallery = np.arange(len(vis[1])), vis
                    if self.rerank:
                        q_q = self._distance(trial_query[0], trial_query[0])
                else:
                    trial_query, trial_dist, picked, trial_gallery = query, dist, drawn, gallery
                self._trial(eval_llcm, per_mode, mode, trial_query, trial_gallery,
                            trial_dist, picked, q_q)
        return per_mode

    def _summarise(self, protocol, modes, per_mode) -> Dict[str, float]:
        metrics = {}
        for mode in modes:
            cmc = np.stack([t[0] for t in per_mode[mode]]) * 100
            columns = {f'R{r}': cmc[:, r - 1] for r in self.ranks}
            columns['mAP'] = np.array([t[1] for t in per_mode[mode]]) * 100
            columns['mINP'] = np.array([t[2] for t in per_mode[mode]]) * 100
            for name, values in columns.items():
                key = f'{protocol}/{mode}/{name}'
                metrics[key] = float(values.mean())
                metrics[f'{key}_std'] = float(values.std())
        headline = HEADLINE_MODE[protocol]
        if headline not in modes:
            headline = modes[0]
        for name in ('R1', 'mAP'):
            key = f'{protocol}/{headline}/{name}'
            if key in metrics:
                metrics[name] = metrics[key]
        return metrics
