"""Every published VI-ReID protocol from one embedding pass of the test set."""
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.structures import BaseDataElement

from vireid.registry import METRICS
from vireid.structures import INFRARED, VISIBLE
from ..functional import (eval_llcm, eval_regdb, eval_sysu, load_sysu_perm,
                          reference_gallery_trial, sysu_gallery_trial)

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


def _mode_parts(mode: str) -> Tuple[str, str]:
    search, _, shots = mode.partition('-')
    return search, shots


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
        max_rank (int): length of the CMC curves. Default 20.
        ranks (Sequence[int]): CMC ranks reported. Default (1, 5, 10, 20).
        distance (str): ``'cosine'`` (default; ``1 - q.g`` ranks like the
            published ``-q @ g.T`` on L2-normalised features) or
            ``'euclidean'``. Features are L2-normalised here either way.
        device (str, optional): where distances and sorting run; ``None``
            = ``'cuda'`` when available, else ``'cpu'``.
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
                 max_rank: int = 20,
                 ranks: Sequence[int] = (1, 5, 10, 20),
                 distance: str = 'cosine',
                 device: Optional[str] = None,
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
        self.max_rank = int(max_rank)
        self.ranks = tuple(int(r) for r in ranks)
        self.distance = distance
        self.device = device

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
        return self._summarise(protocol, modes, per_mode)

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
        q_feat, q_pids, q_cams, _ = self._split(data, INFRARED)
        g_feat, g_pids, g_cams, g_paths = self._split(data, VISIBLE)
        dist = self._distance(q_feat, g_feat)
        perm = (load_sysu_perm(self.perm_file)
                if self.sampling == 'official' else None)
        per_mode = {}
        for mode in modes:
            search, shots = _mode_parts(mode)
            trials = []
            for trial in range(self.num_trials):
                picked = sysu_gallery_trial(
                    g_paths, g_pids, g_cams, trial, search_mode=search,
                    num_shots=self.num_shots[shots], perm=perm)
                trials.append(self._score(
                    eval_sysu, dist, picked, q_pids, g_pids, q_cams,
                    g_cams))
            per_mode[mode] = trials
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
            _, q_pids, q_cams, _ = query
            _, g_pids, g_cams, g_paths = gallery
            if not sampled:
                picked = np.arange(len(g_pids))
                per_mode[mode] = [self._score(
                    eval_regdb, dist, picked, q_pids, g_pids)]
                continue
            cameras = sorted(set(g_cams.tolist()))
            per_mode[mode] = [
                self._score(eval_llcm, dist,
                            reference_gallery_trial(g_paths, g_pids, g_cams,
                                                    trial, cameras),
                            q_pids, g_pids, q_cams, g_cams)
                for trial in range(self.num_trials)
            ]
        return per_mode

    def _score(self, eval_fn, dist, picked, q_pids, g_pids, q_cams=None,
               g_cams=None) -> Tuple[np.ndarray, float, float]:
        columns = torch.as_tensor(picked, device=dist.device)
        sub = dist.index_select(1, columns)
        if q_cams is None:
            return eval_fn(sub, q_pids, g_pids[picked], self.max_rank)
        return eval_fn(sub, q_pids, g_pids[picked], q_cams, g_cams[picked],
                       self.max_rank)

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
