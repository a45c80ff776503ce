"""CMC, mAP and mINP of a query x gallery distance matrix, batched.

Every query is ranked by one stable sort of its row; removals, positives and
ranks are boolean masks and cumulative sums over the whole batch of rows, and
the few positive entries are reduced with ``index_add`` / ``scatter_reduce``.
Nothing loops over queries in Python, so the cost is that of sorting the
matrix (done in chunks of rows to bound memory). The work runs on the device
of ``distmat`` when it is a tensor (GPU sort when the metric holds the
features there).

Conventions shared by every function here:

* smaller distance = more similar;
* ties are broken by gallery column order (stable sort), so results do not
  depend on the sorting algorithm; the published numpy code uses an unstable
  quicksort, which can only differ from this on exactly tied distances;
* a query with no positive left after removal is skipped (the published
  code's ``num_valid_q``); if no query has one a ``ValueError`` is raised;
* ``cmc[k]`` is the fraction of valid queries whose first true match is at
  rank ``<= k + 1``; it has ``max_rank`` entries even when the ranked list is
  shorter (the value then stays at its last level instead of being cut);
* AP_q = mean over the positives of (positives so far / rank) and
  INP_q = (#positives) / (rank of the last positive) [Ye et al., TPAMI 2021],
  both on the image list after removal; mAP, mINP are their means.
"""
from concurrent.futures import ThreadPoolExecutor
from typing import Optional, Tuple, Union

import numpy as np
import torch

ArrayLike = Union[np.ndarray, torch.Tensor, list, tuple]

# Rows are processed in chunks of at most this many matrix entries (about
# ten int64 / bool temporaries of this size live at once per chunk; on the
# CPU one chunk per thread runs at a time).
_CHUNK_ELEMENTS = 1 << 20
# On a GPU every chunk costs a few host syncs (nonzero): fewer, larger ones.
_CHUNK_ELEMENTS_GPU = 1 << 24

REMOVALS = ('none', 'sysu', 'same_camera')
CMC_LISTS = ('image', 'identity')

# SYSU-MM01: IR camera 3 and RGB camera 2 share a room (the official kit's
# camera labels [1 2 2 4 5 6]), so a camera-3 query never sees camera 2.
SYSU_SAME_ROOM = (3, 2)


def _as_tensor(value: ArrayLike, name: str, device=None,
               dtype=None) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        tensor = value.detach()
    else:
        try:
            tensor = torch.as_tensor(np.asarray(value))
        except (TypeError, ValueError) as err:
            raise ValueError(f'{name} must be a numeric array, got '
                             f'{type(value).__name__}: {err}') from err
    if dtype is not None:
        tensor = tensor.to(dtype)
    return tensor.to(device) if device is not None else tensor


def _labels(value: ArrayLike, name: str, length: int, device) -> torch.Tensor:
    tensor = _as_tensor(value, name, device).reshape(-1)
    if tensor.is_floating_point() or tensor.is_complex():
        raise ValueError(f'{name} must hold integers, got {tensor.dtype}')
    if tensor.numel() != length:
        raise ValueError(f'{name} has {tensor.numel()} entries, the distance '
                         f'matrix needs {length}')
    return tensor.long()


def _stable_argsort(dist: torch.Tensor) -> torch.Tensor:
    """Row-wise stable argsort: ties keep gallery column order.

    On the CPU, float32 rows are sorted as unique int64 keys (the float's
    order-preserving bit pattern, then the column) with numpy's SIMD sort:
    several times faster than a stable comparison sort, same order.
    """
    num_g = dist.shape[1]
    if dist.device.type != 'cpu' or dist.dtype != torch.float32 \
            or num_g >= 1 << 31:
        return torch.sort(dist, dim=1, stable=True).indices
    # + 0.0 turns -0.0 into +0.0, so the two zeros tie as they compare.
    bits = (dist.numpy() + np.float32(0.0)).view(np.int32)
    # Negative floats order backwards as integers: flip their magnitude bits.
    bits ^= (bits >> 31) & np.int32(0x7FFFFFFF)
    shift = max(1, (num_g - 1).bit_length())
    keys = bits.astype(np.int64)
    keys <<= shift
    keys |= np.arange(num_g, dtype=np.int64)
    keys.sort(axis=1)
    keys &= (1 << shift) - 1
    return torch.from_numpy(keys)


def _take(values: torch.Tensor, order: torch.Tensor) -> torch.Tensor:
    """``values[order]`` for a 1-D ``values``; numpy's take is many times
    faster than torch's advanced indexing on the CPU."""
    if order.device.type == 'cpu':
        return torch.from_numpy(np.take(values.numpy(), order.numpy()))
    return values[order]


def _rank_chunk(dist: torch.Tensor, q_ids: torch.Tensor,
                g_ids: torch.Tensor, q_camids: Optional[torch.Tensor],
                g_camids: Optional[torch.Tensor], num_ids: int,
                removal: str, identity_cmc: bool):
    """Per-query (valid, AP, INP, CMC rank) of one chunk of rows.

    ``q_ids`` / ``g_ids`` are dense int32 identities (0..num_ids-1 for the
    gallery's ids, -1 for a query id absent from the gallery).
    """
    num_q, num_g = dist.shape
    device = dist.device
    order = _stable_argsort(dist)
    ranked_ids = _take(g_ids, order)
    match = ranked_ids == q_ids[:, None]

    if removal == 'none':
        removed = None
    elif removal == 'sysu':
        from_cam3 = q_camids == SYSU_SAME_ROOM[0]
        in_cam2 = _take(g_camids == SYSU_SAME_ROOM[1], order)
        removed = in_cam2 & from_cam3[:, None]
    else:  # same_camera: the same person seen by the same camera
        removed = match & (_take(g_camids, order) == q_camids[:, None])
    if removed is not None:
        match &= ~removed

    # 1-based rank of every positive in the list with removals taken out.
    rows, cols = match.nonzero(as_tuple=True)
    flat = rows * num_g + cols
    pos_rank = cols + 1
    if removed is not None:
        removed_before = removed.cumsum(dim=1, dtype=torch.int32)
        pos_rank = pos_rank - removed_before.view(-1).take(flat)

    num_pos = torch.bincount(rows, minlength=num_q)
    valid = num_pos > 0
    # nonzero() lists each row's positives left to right, so a positive's
    # ordinal in its row is its offset from the row's first entry.
    row_start = num_pos.cumsum(0) - num_pos
    ordinal = torch.arange(rows.numel(), device=device) - row_start[rows] + 1
    precision = ordinal.double() / pos_rank.double()
    ap = torch.zeros(num_q, dtype=torch.float64, device=device)
    ap.index_add_(0, rows, precision)
    ap = ap / num_pos.clamp(min=1)

    last_rank = torch.zeros(num_q, dtype=torch.long, device=device)
    last_rank.scatter_reduce_(0, rows, pos_rank, reduce='amax')
    inp = num_pos.double() / last_rank.clamp(min=1).double()

    first = torch.zeros(num_q, dtype=torch.long, device=device)
    if not identity_cmc:
        first.scatter_reduce_(0, rows, pos_rank, reduce='amin',
                              include_self=False)
        return valid, ap, inp, first
    # Identity list: each gallery id counts once, at its first kept
    # position, so the match's rank there is 1 + the number of distinct ids
    # kept before the first true match. Only those few entries are visited.
    first.scatter_reduce_(0, rows, cols, reduce='amin', include_self=False)
    before = torch.arange(num_g, device=device)[None, :] < first[:, None]
    if removed is not None:
        before &= ~removed
    b_rows, b_cols = before.nonzero(as_tuple=True)
    seen = torch.zeros(num_q * num_ids, dtype=torch.bool, device=device)
    seen[b_rows * num_ids
         + ranked_ids.view(-1).take(b_rows * num_g + b_cols).long()] = True
    cmc_rank = seen.view(num_q, num_ids).sum(dim=1) + 1
    return valid, ap, inp, cmc_rank


def evaluate_rank(distmat: ArrayLike,
                  q_pids: ArrayLike,
                  g_pids: ArrayLike,
                  q_camids: Optional[ArrayLike] = None,
                  g_camids: Optional[ArrayLike] = None,
                  removal: str = 'none',
                  cmc_list: str = 'image',
                  max_rank: int = 20) -> Tuple[np.ndarray, float, float]:
    """Ranking metrics with a choice of removal rule and CMC list.

    Args:
        distmat: ``(num_query, num_gallery)`` distances, numpy or torch.
        q_pids, g_pids: identity of every query / gallery entry.
        q_camids, g_camids: cameras; needed unless ``removal='none'``.
        removal: which gallery entries a query does not see: ``'none'``,
            ``'sysu'`` (camera-2 entries for a camera-3 query) or
            ``'same_camera'`` (entries of the query's identity and camera).
        cmc_list: ``'image'`` (the standard CMC over the ranked images) or
            ``'identity'`` (over the ranked identities: each gallery id kept
            at its first occurrence, the SYSU-MM01 kit's rule).
        max_rank: length of the returned CMC.

    Returns:
        tuple: ``(cmc, mAP, mINP)``: ``cmc`` a float64 array of length
        ``max_rank``, all three fractions in [0, 1].
    """
    if removal not in REMOVALS:
        raise ValueError(f'removal must be one of {REMOVALS}, got {removal!r}')
    if cmc_list not in CMC_LISTS:
        raise ValueError(
            f'cmc_list must be one of {CMC_LISTS}, got {cmc_list!r}')
    if not isinstance(max_rank, (int, np.integer)) or max_rank < 1:
        raise ValueError(f'max_rank must be a positive int, got {max_rank!r}')
    dist = _as_tensor(distmat, 'distmat')
    if dist.dim() != 2:
        raise ValueError('distmat must be 2-D (num_query, num_gallery), got '
                         f'shape {tuple(dist.shape)}')
    if not dist.is_floating_point():
        dist = dist.double()
    num_q, num_g = dist.shape
    if num_q == 0 or num_g == 0:
        raise ValueError(f'distmat is empty: shape {tuple(dist.shape)}')
    # A sum is one cheap pass; NaN anywhere makes it NaN.
    if torch.isnan(dist.sum()) and torch.isnan(dist).any():
        raise ValueError('distmat contains NaN distances')
    device = dist.device
    q_pid_t = _labels(q_pids, 'q_pids', num_q, device)
    g_pid_t = _labels(g_pids, 'g_pids', num_g, device)
    q_cam_t = g_cam_t = None
    if removal != 'none':
        if q_camids is None or g_camids is None:
            raise ValueError(f'removal={removal!r} needs q_camids and '
                             'g_camids')
        q_cam_t = _labels(q_camids, 'q_camids', num_q, device)
        g_cam_t = _labels(g_camids, 'g_camids', num_g, device)
    # Dense int32 ids: cheaper gathers and comparisons in the hot loop.
    unique_ids, g_dense = torch.unique(g_pid_t, return_inverse=True)
    q_slot = torch.searchsorted(unique_ids, q_pid_t).clamp(
        max=unique_ids.numel() - 1)
    q_dense = torch.where(unique_ids[q_slot] == q_pid_t, q_slot, -1)
    g_dense, q_dense = g_dense.int(), q_dense.int()
    if q_cam_t is not None:
        q_cam_t, g_cam_t = q_cam_t.int(), g_cam_t.int()

    def run_chunk(start: int):
        stop = min(start + chunk, num_q)
        return _rank_chunk(dist[start:stop], q_dense[start:stop], g_dense,
                           None if q_cam_t is None else q_cam_t[start:stop],
                           g_cam_t, unique_ids.numel(), removal,
                           cmc_list == 'identity')

    budget = _CHUNK_ELEMENTS if device.type == 'cpu' else _CHUNK_ELEMENTS_GPU
    starts = range(0, num_q, max(1, budget // num_g))
    chunk = starts.step
    workers = min(len(starts), torch.get_num_threads())
    if device.type == 'cpu' and workers > 1:
        # numpy's sort and take run on one core and release the GIL:
        # chunks in threads use the other cores.
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(pool.map(run_chunk, starts))
    else:
        parts = [run_chunk(start) for start in starts]
    valid, ap, inp, cmc_rank = (torch.cat(column) for column in zip(*parts))

    num_valid = int(valid.sum())
    if num_valid == 0:
        raise ValueError('no query has a true match in the gallery (after '
                         f'removal={removal!r}): check the query/gallery '
                         'split and the identity labels')
    hits = torch.bincount(cmc_rank[valid].clamp(max=max_rank + 1) - 1,
                          minlength=max_rank + 1)[:max_rank]
    cmc = (hits.cumsum(0).double() / num_valid).cpu().numpy()
    m_ap = float(ap[valid].mean())
    m_inp = float(inp[valid].mean())
    return cmc, m_ap, m_inp


def eval_sysu(distmat: ArrayLike, q_pids: ArrayLike, g_pids: ArrayLike,
              q_camids: ArrayLike, g_camids: ArrayLike,
              max_rank: int = 20) -> Tuple[np.ndarray, float, float]:
    """SYSU-MM01 protocol (the dataset kit and the published baselines).

    A camera-3 query drops every camera-2 gallery image (same room); CMC over
    the identity list (first occurrence of each gallery id after removal);
    mAP and mINP over the image list after removal.
    """
    return evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids,
                         removal='sysu', cmc_list='identity',
                         max_rank=max_rank)


def eval_regdb(distmat: ArrayLike, q_pids: ArrayLike, g_pids: ArrayLike,
               max_rank: int = 20) -> Tuple[np.ndarray, float, float]:
    """RegDB protocol: standard image-list CMC, nothing removed (query and
    gallery come from different cameras by construction)."""
    return evaluate_rank(distmat, q_pids, g_pids, removal='none',
                         cmc_list='image', max_rank=max_rank)


def eval_llcm(distmat: ArrayLike, q_pids: ArrayLike, g_pids: ArrayLike,
              q_camids: ArrayLike, g_camids: ArrayLike,
              max_rank: int = 20) -> Tuple[np.ndarray, float, float]:
    """LLCM protocol (DEEN, CVPR 2023): gallery images of the query's
    identity *and* camera are dropped; CMC over the identity list; mAP and
    mINP over the image list after removal."""
    return evaluate_rank(distmat, q_pids, g_pids, q_camids, g_camids,
                         removal='same_camera', cmc_list='identity',
                         max_rank=max_rank)
