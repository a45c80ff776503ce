"""Two-stream ResNet: modality-specific early stages, shared later stages."""
import copy
from typing import Dict, Mapping, Optional, Sequence, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule, constant_init, kaiming_init
from mmengine.runner.checkpoint import CheckpointLoader
from mmpretrain.models.backbones import ResNet
from mmpretrain.models.backbones.resnet import BasicBlock, Bottleneck
from torch.nn.modules.batchnorm import _BatchNorm

from vireid.registry import MODELS
from .cuda_graphs import BackboneGraphs
from .non_local import NonLocal2d
from .routing import RoutePlan, plan_routes, plan_to, run_routes

STAGES = ('stem', 'layer1', 'layer2', 'layer3', 'layer4')


def map_resnet_state_dict(
        state_dict: Mapping[str, torch.Tensor],
        branch_parts: Mapping[str, Sequence[str]]) -> Dict[str, torch.Tensor]:
    """Copy each torchvision-named ResNet weight onto every branch holding its stage.

    ``conv1.*`` / ``bn1.*`` belong to ``'stem'``, ``layerK.*`` to
    ``'layerK'``; other keys (``fc.*``) are dropped. ``branch_parts`` maps a
    branch attribute name (``'visible'``) to the stages it holds, so
    ``layer1.0.conv1.weight`` becomes ``visible.layer1.0.conv1.weight`` for
    every branch with ``'layer1'``.
    """
    mapped = {}
    for key, value in state_dict.items():
        head = key.split('.', 1)[0]
        part = 'stem' if head in ('conv1', 'bn1') else head
        for branch, parts in branch_parts.items():
            if part in parts:
                mapped[f'{branch}.{key}'] = value
    return mapped


def load_resnet_state_dict(checkpoint: str,
                           prefix: Optional[str] = None,
                           map_location: str = 'cpu') -> Dict[str, torch.Tensor]:
    """Load a ResNet state dict (``torchvision://resnet50``, a URL or a local file).

    A full checkpoint's ``state_dict`` entry is used when present; ``prefix``
    (e.g. ``'backbone.'``) keeps only the keys under it and strips it.
    """
    try:
        loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location=map_location)
    except OSError as error:  # a missing file, or no network for a URL (URLError)
        raise OSError(
            f'cannot load the ResNet weights {checkpoint!r}: {error}. Without network access '
            'put the file in $TORCH_HOME/hub/checkpoints (torchvision:// names) or point '
            'init_cfg.checkpoint at a local copy; model.backbone.init_cfg=None trains from '
            'scratch') from error
    state_dict = loaded.get('state_dict', loaded)
    if prefix:
        state_dict = {
            key[len(prefix):]: value
            for key, value in state_dict.items() if key.startswith(prefix)
        }
        if not state_dict:
            raise ValueError(f'no key of {checkpoint} starts with {prefix!r}')
    return state_dict


def init_resnet_from_scratch(resnet: ResNet, zero_init_residual: bool) -> None:
    """mmpretrain's ResNet initialisation (Kaiming convs, unit BN), without its init log.

    ``zero_init_residual`` zeroes the last BN of every residual block, so each
    block starts as the identity (helps training from scratch).
    """
    for module in resnet.modules():
        if isinstance(module, nn.Conv2d):
            kaiming_init(module, mode='fan_out', nonlinearity='relu')
        elif isinstance(module, (_BatchNorm, nn.GroupNorm)):
            constant_init(module, 1)
    if zero_init_residual:
        for module in resnet.modules():
            if isinstance(module, Bottleneck):
                constant_init(module.norm3, 0)
            elif isinstance(module, BasicBlock):
                constant_init(module.norm2, 0)


class ResNetBranch(nn.Module):
    """A contiguous run of ResNet stages copied from a reference ResNet.

    Attribute names follow torchvision (``conv1``, ``bn1``, ``layerK``), so
    pretrained keys map onto a branch unchanged. Non-local blocks live in
    ``self.non_local`` (keys ``'layer2_3'``: after block 3 of layer2), apart
    from the ResNet blocks so that block indices stay torchvision's.
    """

    def __init__(self,
                 resnet: ResNet,
                 parts: Sequence[str],
                 non_local: Optional[Mapping[str, Sequence[int]]] = None,
                 non_local_cfg: Optional[dict] = None):
        super().__init__()
        self.parts = tuple(parts)
        for part in self.parts:
            if part == 'stem':
                self.conv1 = copy.deepcopy(resnet.conv1)
                self.bn1 = copy.deepcopy(resnet.norm1)
                self.relu = nn.ReLU(inplace=True)
                self.maxpool = copy.deepcopy(resnet.maxpool)
            else:
                self.add_module(part, copy.deepcopy(getattr(resnet, part)))
        self.non_local = nn.ModuleDict()
        for layer, indices in (non_local or {}).items():
            if layer not in self.parts:
                continue
            for index in indices:
                channels = getattr(self, layer)[index].out_channels
                self.non_local[f'{layer}_{index}'] = NonLocal2d(
                    channels, **(non_local_cfg or {}))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for part in self.parts:
            if part == 'stem':
                x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
                continue
            for index, block in enumerate(getattr(self, part)):
                x = block(x)
                key = f'{part}_{index}'
                if key in self.non_local:
                    x = self.non_local[key](x)
        return x


@MODELS.register_module()
class TwoStreamResNet(BaseModule):
    """ResNet whose first stages are modality-specific and the rest shared.

    Built from mmpretrain's ``ResNet`` stages (BasicBlock / Bottleneck), so
    every branch has torchvision's parameter names.

    Args:
        depth: 18, 34 or 50 (101/152 work too).
        split: the last modality-specific stage. ``'stem'`` (AGW: conv1, bn1,
            relu, maxpool per modality; layer1-4 shared), ``'layer1'``,
            ``'layer2'`` (FMCNet's E_V / E_I) or ``'layer3'``.
        specific_tail: also build the stages after ``split`` twice more, as
            independent visible / infrared copies next to the shared one
            (FMCNet's E_sp^V, E_sp^I beside E_sh).
        last_stride: stride of layer4 (1 for AGW: 18x9 maps at 288x144).
        base_channels: width of layer1 (64 in the papers; smaller for CPU
            runs); the stem has the same width.
        non_local: ``{'layer2': (2, 3), 'layer3': (3, 4, 5)}``: a NonLocal2d
            after these 0-based blocks of these stages (AGW's positions for
            ResNet-50: after the last two blocks of layer2 and the last three
            of layer3), in every branch that holds the stage.
        non_local_cfg: kwargs of :class:`NonLocal2d` (``mode``,
            ``inter_channels``, ``reduction``).
        cuda_graph: in training on a GPU, replay the forward and backward
            passes as CUDA graphs (captured on first use for each batch
            layout) instead of launching some 1,500 kernels one by one: the
            same arithmetic, without the host launch cost that otherwise
            bounds a step (see :mod:`vireid.models.cuda_graphs`).
        norm_cfg, with_cp, zero_init_residual: passed to mmpretrain's ResNet
            (``zero_init_residual`` only matters without a checkpoint).
        init_cfg: ``None`` (Kaiming init of a reference ResNet) or
            ``dict(type='Pretrained', checkpoint='torchvision://resnet50' or
            a file, prefix=None)``. Either way every branch starts from the
            same ResNet weights; non-local blocks start as the identity.

    Attributes:
        out_channels: channels of the output maps.
        visible, infrared, shared (and visible_tail, infrared_tail):
            :class:`ResNetBranch` modules.

    ``forward(x [B, 3, H, W], modality LongTensor [B]) -> tuple``: samples are
    routed by modality (0 visible, 1 infrared) in any mix and order and the
    outputs keep the input order; returns ``(shared_map,)``, or with
    ``specific_tail`` ``(shared_map, specific_map)`` where ``specific_map``
    comes from each sample's own modality tail.
    """

    def __init__(self,
                 depth: int = 50,
                 split: str = 'stem',
                 specific_tail: bool = False,
                 last_stride: int = 1,
                 base_channels: int = 64,
                 non_local: Optional[Mapping[str, Sequence[int]]] = None,
                 non_local_cfg: Optional[dict] = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 with_cp: bool = False,
                 zero_init_residual: bool = True,
                 cuda_graph: bool = False,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.cuda_graph = cuda_graph
        self._graphs = BackboneGraphs()
        specific_stages = STAGES[:-1]
        if split not in specific_stages:
            raise ValueError(f'split must be one of {specific_stages}, '
                             f'got {split!r}')
        if last_stride not in (1, 2):
            raise ValueError(f'last_stride must be 1 or 2, got {last_stride}')
        self._resnet_kwargs = dict(
            depth=depth,
            stem_channels=base_channels,
            base_channels=base_channels,
            strides=(1, 2, 2, last_stride),
            norm_cfg=norm_cfg,
            with_cp=with_cp,
            zero_init_residual=zero_init_residual)
        reference = ResNet(**self._resnet_kwargs)
        self._check_non_local(non_local, reference)
        self.split = split
        self.specific_tail = specific_tail
        self.out_channels = reference.feat_dim

        cut = STAGES.index(split) + 1
        self.branch_parts = {
            'visible': STAGES[:cut],
            'infrared': STAGES[:cut],
            'shared': STAGES[cut:]
        }
        if specific_tail:
            self.branch_parts.update(
                visible_tail=STAGES[cut:], infrared_tail=STAGES[cut:])
        for name, parts in self.branch_parts.items():
            self.add_module(
                name, ResNetBranch(reference, parts, non_local, non_local_cfg))

    @staticmethod
    def _check_non_local(non_local, reference: ResNet) -> None:
        for layer, indices in (non_local or {}).items():
            if layer not in STAGES[1:]:
                raise ValueError(f'non_local key {layer!r} is not one of '
                                 f'{STAGES[1:]}')
            num_blocks = len(getattr(reference, layer))
            bad = [i for i in indices if not 0 <= i < num_blocks]
            if bad:
                raise ValueError(
                    f'non_local[{layer!r}] = {tuple(indices)}: {layer} of a '
                    f'depth-{reference.depth} ResNet has blocks '
                    f'0..{num_blocks - 1}')

    def forward(self, x: torch.Tensor,
                modality: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        plan = plan_routes(modality, x.size(0), 2)
        if self.cuda_graph and self.training and x.is_cuda and torch.is_grad_enabled():
            graphed = self._graphs.get(x, plan, self)
            if graphed is not None:
                return graphed(x)
        return self.forward_planned(x, plan_to(plan, x.device))

    def forward_planned(self, x: torch.Tensor, plan: RoutePlan) -> Tuple[torch.Tensor, ...]:
        """:meth:`forward` with the routes already planned on ``x``'s device."""
        specific = run_routes(x, plan, (self.visible, self.infrared))
        shared = self.shared(specific)
        if not self.specific_tail:
            return (shared, )
        return shared, run_routes(specific, plan, (self.visible_tail, self.infrared_tail))

    def init_weights(self) -> None:
        """Put the same ResNet weights into every branch (see ``init_cfg``)."""
        cfg = self.init_cfg
        if isinstance(cfg, dict) and cfg.get('type') == 'Pretrained':
            if 'checkpoint' not in cfg:
                raise ValueError(f'init_cfg {cfg} has no "checkpoint" key')
            source = cfg['checkpoint']
            state_dict = load_resnet_state_dict(
                source, cfg.get('prefix'), cfg.get('map_location', 'cpu'))
        elif cfg is None:
            source = 'a freshly initialised ResNet'
            reference = ResNet(**self._resnet_kwargs)
            init_resnet_from_scratch(reference,
                                     self._resnet_kwargs['zero_init_residual'])
            state_dict = reference.state_dict()
        else:
            raise ValueError('TwoStreamResNet init_cfg must be None or '
                             f'dict(type="Pretrained", checkpoint=...); got {cfg}')
        self.load_resnet_weights(state_dict, source)
        for module in self.modules():
            if isinstance(module, NonLocal2d):
                module.init_weights()
        self._is_init = True

    def load_resnet_weights(self, state_dict: Mapping[str, torch.Tensor],
                            source: str = 'state_dict') -> None:
        """Load a torchvision-named ResNet state dict into every branch."""
        mapped = map_resnet_state_dict(state_dict, self.branch_parts)
        try:
            missing, _ = self.load_state_dict(mapped, strict=False)
        except RuntimeError as error:
            raise ValueError(f'{source} does not fit this TwoStreamResNet '
                             f'(depth / base_channels?): {error}') from error
        missing = [key for key in missing if '.non_local.' not in key]
        if missing:
            raise ValueError(f'{source} lacks {len(missing)} ResNet weights of '
                             f'this TwoStreamResNet, e.g. {missing[:3]}')
