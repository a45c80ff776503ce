"""Post-processing of a ranking: k-reciprocal re-ranking and query expansion.

Both are pure functions of distances / features, used by ``VIReIDMetric``
(``rerank=True``, ``query_expansion=True``) and by ``vireid.apis.retrieve``.
"""
from typing import Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F
from scipy import sparse

ArrayLike = Union[np.ndarray, torch.Tensor]


def _matrix(value: ArrayLike, name: str,
            shape: Optional[Tuple[int, int]] = None) -> np.ndarray:
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    array = np.asarray(value, dtype=np.float64)
    if array.ndim != 2:
        raise ValueError(f'{name} must be 2-D, got shape {array.shape}')
    if shape is not None and array.shape != shape:
        raise ValueError(f'{name} must have shape {shape} to match q_g_dist, '
                         f'got {array.shape}')
    if not np.isfinite(array).all():
        raise ValueError(f'{name} holds NaN or infinite distances')
    if (array < 0).any():
        raise ValueError(f'{name} holds negative distances (min '
                         f'{array.min():.4g}); pass distances, not similarities')
    return array


def _nearest(dist: np.ndarray, k: int) -> np.ndarray:
    """Each row's ``k`` nearest columns, nearest first (ties by column)."""
    k = min(k, dist.shape[1])
    candidates = np.sort(np.argpartition(dist, k - 1, axis=1)[:, :k], axis=1)
    order = np.argsort(np.take_along_axis(dist, candidates, 1), axis=1,
                       kind='stable')
    return np.take_along_axis(candidates, order, 1)


def _reciprocal(neighbours: np.ndarray) -> sparse.csr_matrix:
    """R(i, k) = {j in N(i, k) : i in N(j, k)} as a 0/1 sparse matrix."""
    n, k = neighbours.shape
    forward = sparse.csr_matrix(
        (np.ones(n * k), (np.repeat(np.arange(n), k), neighbours.ravel())),
        shape=(n, n))
    return forward.multiply(forward.T).tocsr()


def k_reciprocal_rerank(q_g_dist: ArrayLike,
                        q_q_dist: ArrayLike,
                        g_g_dist: ArrayLike,
                        k1: int = 20,
                        k2: int = 6,
                        lambda_value: float = 0.3) -> np.ndarray:
    """k-reciprocal re-ranking (Zhong et al., CVPR 2017), query x gallery.

    Over the ``N = num_query + num_gallery`` images together:

    1. each row of the joint distance matrix is divided by its maximum (the
       weights below become independent of the distance's scale: cosine
       distance and squared Euclidean distance of L2-normalised features
       give the same result);
    2. ``R(i, k1)``: the k-reciprocal neighbours, the ``j`` among ``i``'s
       ``k1 + 1`` nearest (``i`` itself included) that have ``i`` among
       their own ``k1 + 1`` nearest;
    3. expansion (eq. 6): for every ``c`` in ``R(i, k1)``, add
       ``R(c, round(k1 / 2))`` when more than 2/3 of it lies in ``R(i, k1)``;
    4. ``V_i`` (eq. 7): weights ``exp(-d(i, j))`` on the expanded set,
       normalised to sum 1; local query expansion (eq. 11): ``V_i`` becomes
       the mean of the ``V`` of ``i``'s ``k2`` nearest (``k2=1``: none);
    5. Jaccard distance (eq. 10)
       ``d_J = 1 - sum_j min(V_p, V_g) / sum_j max(V_p, V_g)`` and the final
       distance (eq. 12) ``(1 - lambda) d_J + lambda d`` (``d`` as in 1.).

    Args:
        q_g_dist, q_q_dist, g_g_dist: non-negative distances ``[Q, G]``,
            ``[Q, Q]``, ``[G, G]`` (numpy or torch; smaller = more similar).
        k1, k2, lambda_value: the paper's parameters (20, 6, 0.3 for
            Market-1501).

    Returns:
        np.ndarray: the re-ranked distances ``[Q, G]`` (float64).
    """
    q_g = _matrix(q_g_dist, 'q_g_dist')
    num_q, num_g = q_g.shape
    q_q = _matrix(q_q_dist, 'q_q_dist', (num_q, num_q))
    g_g = _matrix(g_g_dist, 'g_g_dist', (num_g, num_g))
    if int(k1) != k1 or k1 < 1:
        raise ValueError(f'k1 must be a positive int, got {k1!r}')
    if int(k2) != k2 or k2 < 1:
        raise ValueError(f'k2 must be a positive int, got {k2!r}')
    if not 0 <= lambda_value <= 1:
        raise ValueError(f'lambda_value must be in [0, 1], got {lambda_value!r}')
    k1, k2 = int(k1), int(k2)

    dist = np.block([[q_q, q_g], [q_g.T, g_g]])
    num = dist.shape[0]
    row_max = dist.max(axis=1, keepdims=True)
    dist /= np.where(row_max > 0, row_max, 1.0)

    nearest = _nearest(dist, max(k1 + 1, k2))
    reciprocal = _reciprocal(nearest[:, :k1 + 1])
    half = _reciprocal(nearest[:, :int(round(k1 / 2)) + 1])
    # overlap[i, c] = |R(i, k1) & R(c, k1/2)|, kept only for c in R(i, k1)
    overlap = (reciprocal @ half.T).multiply(reciprocal).tocoo()
    half_size = np.asarray(half.sum(axis=1)).ravel()
    accepted = overlap.data > 2 / 3 * half_size[overlap.col]
    chosen = sparse.csr_matrix(
        (np.ones(int(accepted.sum())),
         (overlap.row[accepted], overlap.col[accepted])), shape=(num, num))
    expanded = (reciprocal + chosen @ half).tocsr()

    rows, cols = expanded.nonzero()
    weights = sparse.csr_matrix((np.exp(-dist[rows, cols]), (rows, cols)),
                                shape=(num, num))
    weights = sparse.diags(1 / np.asarray(weights.sum(axis=1)).ravel()) @ weights
    if k2 > 1:
        average = sparse.csr_matrix(
            (np.full(num * k2, 1 / k2),
             (np.repeat(np.arange(num), k2), nearest[:, :k2].ravel())),
            shape=(num, num))
        weights = average @ weights
    weights = weights.tocsr()

    gallery = weights[num_q:].toarray()
    gallery_mass = gallery.sum(axis=1)
    jaccard = np.empty((num_q, num_g))
    for i in range(num_q):
        # min(V_p, V_g) is zero outside the query's support
        start, stop = weights.indptr[i], weights.indptr[i + 1]
        support, values = weights.indices[start:stop], weights.data[start:stop]
        common = np.minimum(gallery[:, support], values).sum(axis=1)
        union = values.sum() + gallery_mass - common
        jaccard[i] = 1 - common / union
    return (1 - lambda_value) * jaccard + lambda_value * dist[:num_q, num_q:]


def query_expansion(query_feats: ArrayLike, gallery_feats: ArrayLike,
                    k: int = 5) -> torch.Tensor:
    """Average query expansion (AQE, Chum et al., ICCV 2007), top-k form.

    Each query feature is replaced by the mean of itself and its ``k`` most
    similar gallery features (cosine similarity), L2-normalised again. Only
    the query side is expanded, from the gallery it is ranked against.

    Args:
        query_feats: ``[Q, C]`` features (normalised here first).
        gallery_feats: ``[G, C]`` features.
        k: gallery neighbours averaged in (capped at ``G``).

    Returns:
        torch.Tensor: the expanded, L2-normalised query features ``[Q, C]``.
    """
    query = F.normalize(torch.as_tensor(query_feats).float(), dim=1)
    gallery = F.normalize(torch.as_tensor(gallery_feats).float(), dim=1)
    if query.dim() != 2 or gallery.dim() != 2 or query.size(1) != gallery.size(1):
        raise ValueError('query_feats [Q, C] and gallery_feats [G, C] need the '
                         f'same C; got {tuple(query.shape)} and '
                         f'{tuple(gallery.shape)}')
    if int(k) != k or k < 1:
        raise ValueError(f'k must be a positive int, got {k!r}')
    gallery = gallery.to(query.device)
    top = (query @ gallery.T).topk(min(int(k), gallery.size(0)), dim=1).indices
    expanded = (query + gallery[top].sum(dim=1)) / (top.size(1) + 1)
    return F.normalize(expanded, dim=1)
