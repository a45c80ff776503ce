"""Rank a gallery for each query image."""
import os
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from vireid.evaluation.functional import k_reciprocal_rerank
from .inference import Images, Modality, extract_features

DISTANCES = ('cosine', 'euclidean')


@dataclass(frozen=True)
class RankedMatch:
    """One gallery entry of a query's ranked list.

    Attributes:
        rank: 1-based position in the list.
        index: position of the entry in the gallery as given.
        distance: its distance to the query (smaller = more similar; the
            re-ranked distance when re-ranking is on).
        path: the gallery image's path, ``None`` for an array.
    """
    rank: int
    index: int
    distance: float
    path: Optional[str] = None


def pairwise_distance(query: torch.Tensor, gallery: torch.Tensor,
                      distance: str = 'cosine') -> torch.Tensor:
    """``[Q, G]`` distances of L2-normalised features (as ``VIReIDMetric``)."""
    if distance not in DISTANCES:
        raise ValueError(f'distance must be one of {DISTANCES}, got {distance!r}')
    query, gallery = F.normalize(query, dim=1), F.normalize(gallery, dim=1)
    if distance == 'cosine':
        # 1 - q.g can come out a hair below zero in float32
        return (1 - query @ gallery.T).clamp(min=0)
    return torch.cdist(query, gallery)


def rank_gallery(query_feats: torch.Tensor,
                 gallery_feats: torch.Tensor,
                 topk: int = 10,
                 distance: str = 'cosine',
                 rerank: Union[bool, dict] = False
                 ) -> Tuple[torch.Tensor, torch.Tensor]:
    """Sort the gallery for each query.

    Args:
        query_feats, gallery_feats: ``[Q, C]`` and ``[G, C]`` features.
        topk: entries kept per query (capped at ``G``).
        distance: ``'cosine'`` or ``'euclidean'``.
        rerank: k-reciprocal re-ranking: ``True`` (k1 20, k2 6, lambda 0.3)
            or a dict of :func:`k_reciprocal_rerank`'s keyword arguments.

    Returns:
        tuple: ``(dist [Q, G], order [Q, topk])``; ties keep gallery order.
    """
    if int(topk) != topk or topk < 1:
        raise ValueError(f'topk must be a positive int, got {topk!r}')
    dist = pairwise_distance(query_feats, gallery_feats, distance)
    if rerank:
        options = rerank if isinstance(rerank, dict) else {}
        dist = torch.as_tensor(k_reciprocal_rerank(
            dist, pairwise_distance(query_feats, query_feats, distance),
            pairwise_distance(gallery_feats, gallery_feats, distance),
            **options), dtype=torch.float32)
    order = torch.sort(dist, dim=1, stable=True).indices[:, :int(topk)]
    return dist, order


def _images_and_modality(value, name: str) -> Tuple[Images, Modality]:
    if not (isinstance(value, (tuple, list)) and len(value) == 2):
        raise ValueError(f'{name} must be a pair (images, modality), e.g. '
                         f"(['a.jpg', 'b.jpg'], 1); got {type(value).__name__}")
    return value[0], value[1]


def _paths(images: Images) -> List[Optional[str]]:
    if isinstance(images, (str, os.PathLike)):
        return [os.fspath(images)]
    if isinstance(images, np.ndarray) and images.ndim == 3:
        return [None]
    return [None if isinstance(image, np.ndarray) else os.fspath(image)
            for image in images]


def retrieve(model: torch.nn.Module,
             query: Tuple[Images, Modality],
             gallery: Tuple[Images, Modality],
             topk: int = 10,
             distance: str = 'cosine',
             rerank: Union[bool, dict] = False,
             batch_size: int = 64,
             progress: Optional[bool] = None) -> List[List[RankedMatch]]:
    """The ``topk`` nearest gallery entries of every query image.

    Args:
        model: from :func:`vireid.apis.init_model`.
        query, gallery: ``(images, modality)``: paths or ``HxWx3`` uint8 BGR
            arrays, and ``0`` (visible) / ``1`` (infrared) or one value per
            image (see :func:`extract_features`).
        topk, distance, rerank: see :func:`rank_gallery`.
        batch_size, progress: see :func:`extract_features`.

    Returns:
        list: per query, its :class:`RankedMatch` entries, nearest first.

    Example:
        >>> model = init_model('configs/agw/agw_r18_synthetic.py', 'epoch_6.pth')
        >>> ranked = retrieve(model, (['ir.jpg'], 1), (gallery_paths, 0), topk=5)
        >>> ranked[0][0].path, ranked[0][0].distance
    """
    query_images, query_modality = _images_and_modality(query, 'query')
    gallery_images, gallery_modality = _images_and_modality(gallery, 'gallery')
    query_feats = extract_features(model, query_images, query_modality,
                                   batch_size, progress)
    gallery_feats = extract_features(model, gallery_images, gallery_modality,
                                     batch_size, progress)
    dist, order = rank_gallery(query_feats, gallery_feats, topk, distance, rerank)
    paths = _paths(gallery_images)
    return [[
        RankedMatch(rank=rank + 1, index=int(index), distance=float(dist[q, index]),
                    path=paths[int(index)])
        for rank, index in enumerate(row)
    ] for q, row in enumerate(order)]
