"""Pooling necks.

GeM is :class:`GeM`, mmpretrain's ``GeneralizedMeanPooling`` pooled with a
mean (use ``p=3., p_trainable=False`` for AGW's fixed p; it clamps at
``eps=1e-6`` before the power, AGW adds 1e-12 after the mean: the same on
post-ReLU maps). Average pooling is mmpretrain's ``GlobalAveragePooling``.
Both take a ``[B, C, H, W]`` map or a tuple of maps and return ``[B, C]``.
``vireid.models`` imports ``mmpretrain.models`` so the vireid registry finds
mmpretrain's.
"""
from .gem import GeM, generalized_mean

__all__ = ['GeM', 'generalized_mean']
