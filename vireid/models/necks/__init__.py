"""Pooling necks.

GeM and average pooling are mmpretrain's ``GeneralizedMeanPooling`` (use
``p=3., p_trainable=False`` for AGW's fixed p; it clamps at ``eps=1e-6``
before the power, AGW adds 1e-12 after the mean: the same on post-ReLU maps)
and ``GlobalAveragePooling``; both take a ``[B, C, H, W]`` map or a tuple of
maps and return ``[B, C]``. ``vireid.models`` imports ``mmpretrain.models``
so the vireid registry finds them.
"""
