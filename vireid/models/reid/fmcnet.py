"""FMCNet (Zhang et al., CVPR 2022): feature-level modality compensation for VI-ReID."""
import copy
from typing import Dict, List, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.optim import OptimWrapperDict

from vireid.models.cuda_graphs import refuse_accumulation
from vireid.models.utils import follow_preprocessor_memory_format, unwrap
from vireid.registry import MODELS
from vireid.structures import ReIDDataSample, batch_labels
from vireid.models.losses.centers import modality_centers
from vireid.models.losses.fmcnet_losses import (FC_REDUCTIONS, discriminator_accuracy,
                                                discriminator_loss, feature_consistency_loss,
                                                generator_adversarial_loss,
                                                identity_consistency_loss,
                                                per_modality_cross_entropy)
from .alternating import AlternatingReIDModel, frozen_call
from .loss_guard import guarded_update

# terms weighted by ``loss_weights`` (those of L_MD and L_MC are weighted in
# their own loss modules, which carry the paper's lambda1, lambda2)
LOSS_WEIGHT_KEYS = ('id_sh', 'id_sp', 'gan', 'fc', 'ic', 'fid', 'adversary')
TEST_FEATURES = ('fused', 'shared', 'specific', 'generated', 'concat')


@MODELS.register_module()
class FMCNet(AlternatingReIDModel):
    """SFD (two-stream decomposition) + FMC (feature generators vs. discriminators) + SFF (fusion).

    Args:
        backbone: ``TwoStreamResNet(split='layer2', specific_tail=True)``:
            E_V / E_I, then E_sh and E_sp^V / E_sp^I; returns
            ``(shared_map, specific_map)`` (only ``(shared_map,)`` without SFD).
        neck: pooling applied to each map (GAP in the paper).
        num_classes: training identities.
        feat_dim: width of the pooled features (2048 for ResNet-50).
        with_sfd: build the specific classifiers P_sp^V, P_sp^I and the MD loss
            (needs ``specific_tail``); False is Table 2's 'Base'.
        with_fmc: build G_{V->I}, G_{I->V}, D_{V->I}, D_{I->V} (needs SFD).
        classifier: config of P_sh, P_sp^V, P_sp^I (``IdentityClassifier``).
        generator, discriminator: configs of the FMC networks.
        sff: config of ``SharedSpecificFusion`` (eqs. 15-16, P_fp, L_MC, L_FID),
            ``None`` for none (needs FMC).
        md_loss: ``ModalityDecompositionLoss`` (eq. 7 with its lambdas).
        mc_loss: ``CrossModalityCenterLoss`` (eq. 17).
        loss_weights: multipliers of ``id_sh``, ``id_sp`` (eq. 8's shared /
            specific halves), ``gan`` (eq. 12, generator side), ``fc``
            (eq. 13), ``ic`` (eq. 14), ``fid`` (eq. 18) and ``adversary`` (the
            discriminators' eq. 12); 1 unless given. A zero weight keeps the
            term in the graph (so every parameter still gets a gradient, as
            DDP requires) but removes its effect.
        ic_detach_classifier: L_IC trains only the generator side, not
            P_sp (off: the paper does not stop that gradient).
        fc_reduction: L_FC (eq. 13) over the channels: ``'mean'`` (mean
            absolute difference, as ``nn.L1Loss``) or ``'sum'`` (the l1 norm
            as written: 2048 times larger, the step diverges within a few
            iterations; see the FMCNet README).
        test_feature: ``'fused'`` (F_fp, the paper's), ``'shared'`` (F_sh),
            ``'specific'`` (F_sp), ``'generated'`` (F'_sp) or ``'concat'``
            (Cat(F_sh, F_sp, F'_sp): Table 2's 'Base+SFD+FMC'); each sample
            uses its own modality's path.
        flip_test: average the features of the image and its mirror image.
        graph_losses: in training on a GPU, replay the loss terms of both
            steps (forward and backward) as CUDA graphs: the same arithmetic
            without launching some 800 small kernels from the host
            (:mod:`~vireid.models.reid.loss_graphs`).

    Training: :meth:`train_step` (from :class:`AlternatingReIDModel`) computes
    the features once, updates the discriminators (optimizer key
    ``'adversary'``) on detached features, then everything else (key
    ``'main'``) with the discriminators frozen. Without FMC there is no
    adversary and one step on key ``'main'`` (or a plain optim wrapper).
    """

    def __init__(self,
                 backbone: dict,
                 neck: dict,
                 num_classes: int,
                 feat_dim: int = 2048,
                 with_sfd: bool = True,
                 with_fmc: bool = True,
                 classifier: dict = dict(type='IdentityClassifier'),
                 generator: dict = dict(type='FeatureGenerator'),
                 discriminator: dict = dict(type='FeatureDiscriminator'),
                 sff: Optional[dict] = dict(type='SharedSpecificFusion'),
                 md_loss: dict = dict(type='ModalityDecompositionLoss'),
                 mc_loss: dict = dict(type='CrossModalityCenterLoss'),
                 loss_weights: Optional[Dict[str, float]] = None,
                 ic_detach_classifier: bool = False,
                 fc_reduction: str = 'mean',
                 test_feature: str = 'fused',
                 flip_test: bool = False,
                 graph_losses: bool = False,
                 data_preprocessor: Optional[Union[dict, torch.nn.Module]] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ReIDDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(graph_losses=graph_losses, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if with_fmc and not with_sfd:
            raise ValueError('FMCNet: with_fmc=True needs with_sfd=True (the generators '
                             'translate into the specific feature spaces)')
        if sff is not None and not with_fmc:
            raise ValueError('FMCNet: sff needs with_fmc=True (it fuses generated features); '
                             'set sff=None')
        unknown = set(loss_weights or {}) - set(LOSS_WEIGHT_KEYS)
        if unknown:
            raise ValueError(f'FMCNet loss_weights: unknown keys {sorted(unknown)}; '
                             f'known: {LOSS_WEIGHT_KEYS}')
        self.loss_weights = {k: 1.0 for k in LOSS_WEIGHT_KEYS}
        self.loss_weights.update(loss_weights or {})
        self.num_classes = num_classes
        self.with_sfd, self.with_fmc, self.with_sff = with_sfd, with_fmc, sff is not None
        self.ic_detach_classifier = ic_detach_classifier
        if fc_reduction not in FC_REDUCTIONS:
            raise ValueError(f'FMCNet fc_reduction must be one of {FC_REDUCTIONS}, '
                             f'got {fc_reduction!r}')
        self.fc_reduction = fc_reduction
        self.flip_test = flip_test
        self._check_test_feature(test_feature)
        self.test_feature = test_feature

        self.backbone = MODELS.build(backbone)
        if getattr(self.backbone, 'specific_tail', with_sfd) != with_sfd:
            raise ValueError(f'FMCNet: with_sfd={with_sfd} needs a backbone with '
                             f'specific_tail={with_sfd}')
        self.neck = MODELS.build(neck)

        def build(cfg, **defaults):
            cfg = copy.deepcopy(cfg)
            for key, value in defaults.items():
                cfg.setdefault(key, value)
            return MODELS.build(cfg)

        widths = dict(in_channels=feat_dim, num_classes=num_classes)
        self.classifier_sh = build(classifier, **widths)
        if with_sfd:
            self.classifier_sp_v = build(classifier, **widths)
            self.classifier_sp_i = build(classifier, **widths)
            self.md_loss = MODELS.build(md_loss)
        if with_fmc:
            self.generator_v2i = build(generator, in_channels=feat_dim)
            self.generator_i2v = build(generator, in_channels=feat_dim)
            self.discriminator_v2i = build(discriminator, in_channels=feat_dim)
            self.discriminator_i2v = build(discriminator, in_channels=feat_dim)
        if self.with_sff:
            self.fusion = build(sff, **widths)
            self.mc_loss = MODELS.build(mc_loss)
        follow_preprocessor_memory_format(self)

    @property
    def _fusion(self):
        # MMSeparateDistributedDataParallel wraps each child in DDP: reach
        # the SFF module's own methods and parameters through the wrapper
        return unwrap(self.fusion)

    def _check_test_feature(self, name: str) -> None:
        needs = dict(fused=self.with_sff, specific=self.with_sfd,
                     generated=self.with_fmc, concat=self.with_sfd, shared=True)
        if name not in needs:
            raise ValueError(f'FMCNet test_feature must be one of {TEST_FEATURES}, got {name!r}')
        if not needs[name]:
            raise ValueError(f'FMCNet test_feature={name!r} is not available with '
                             f'with_sfd={self.with_sfd}, with_fmc={self.with_fmc}, '
                             f'sff={"on" if self.with_sff else None}')

    # ------------------------------------------------------------------ features
    def _features(self, inputs: torch.Tensor, modality_cpu: torch.Tensor) -> dict:
        """F_sh, F_sp (eq. 1) and the generated F'_sp of the other modality (eq. 11).

        ``modality_cpu`` stays on the CPU so that the backbone groups samples
        without waiting for the GPU; ``feats['modality']`` is its device copy.
        """
        maps = self.backbone(inputs, modality_cpu)
        modality = modality_cpu.to(inputs.device, non_blocking=True)
        feats = dict(shared=self.neck(maps[0]), modality=modality)
        if self.with_sfd:
            feats['specific'] = self.neck(maps[1])
        if self.with_fmc:
            is_ir = modality.bool().unsqueeze(1)
            shared = feats['shared']
            # each generator runs once on the whole batch (one call per step,
            # as DDP needs); a visible sample keeps G_{V->I}'s output
            feats['generated'] = torch.where(is_ir, self.generator_i2v(shared),
                                             self.generator_v2i(shared))
        return feats

    def forward_train(self, inputs: torch.Tensor,
                      data_samples: List[ReIDDataSample]) -> dict:
        labels = batch_labels(data_samples, 'gt_label', inputs.device)
        out = self._features(inputs, batch_labels(data_samples, 'modality'))
        out['labels'] = labels
        modality = out['modality']
        out['logits_sh'] = self.classifier_sh(out['shared'])
        if self.with_sfd:
            is_ir = modality.bool().unsqueeze(1)
            batch = out['specific'].size(0)
            if self.with_fmc and not self.ic_detach_classifier:
                # real and generated features through each classifier in one call
                both = torch.cat([out['specific'], out['generated']])
                logits_v, logits_i = self.classifier_sp_v(both), self.classifier_sp_i(both)
                out['logits_sp'] = torch.where(is_ir, logits_i[:batch], logits_v[:batch])
                # a visible sample's generated feature is infrared: P_sp^I (eq. 14)
                out['logits_generated'] = torch.where(is_ir, logits_v[batch:], logits_i[batch:])
            else:
                out['logits_sp'] = torch.where(is_ir, self.classifier_sp_i(out['specific']),
                                               self.classifier_sp_v(out['specific']))
                if self.with_fmc:
                    generated = out['generated']
                    out['logits_generated'] = torch.where(
                        is_ir, frozen_call(self.classifier_sp_v, generated),
                        frozen_call(self.classifier_sp_i, generated))
        if self.with_sff:
            out['fused'], out['logits_fp'] = self.fusion(
                out['shared'], out['specific'], out['generated'], modality)
        return out

    # ------------------------------------------------------------------ losses
    def adversary_loss(self, features: dict, data_samples) -> Dict[str, torch.Tensor]:
        """Eq. 12, discriminator side, on detached features.

        D_{V->I} tells real infrared F_sp,I from G_{V->I}(F_sh,V) of the
        visible samples; D_{I->V} the other way round.
        """
        is_ir = features['modality'].float()
        is_vis = 1 - is_ir
        batch = is_ir.numel()
        both = torch.cat([features['specific'], features['generated']])
        losses = {}
        for name, real_w, fake_w in (('v2i', is_ir, is_vis), ('i2v', is_vis, is_ir)):
            logits = getattr(self, f'discriminator_{name}')(both)
            real, fake = logits[:batch], logits[batch:]
            losses[f'loss_d_{name}'] = self.loss_weights['adversary'] * discriminator_loss(
                real, fake, real_w, fake_w)
            losses[f'acc_d_{name}_real'] = discriminator_accuracy(real, True, real_w)
            losses[f'acc_d_{name}_fake'] = discriminator_accuracy(fake, False, fake_w)
        return losses

    def main_loss(self, features: dict, data_samples) -> Dict[str, torch.Tensor]:
        """Everything but the discriminators: L_ID, L_MD, L_GAN (G side), L_FC, L_IC, L_MC, L_FID."""
        w = self.loss_weights
        labels, modality = features['labels'], features['modality']
        losses = dict(loss_id_sh=w['id_sh'] * per_modality_cross_entropy(
            features['logits_sh'], labels, modality))
        if self.with_sfd:
            losses['loss_id_sp'] = w['id_sp'] * per_modality_cross_entropy(
                features['logits_sp'], labels, modality)
            losses.update(self.md_loss(features['specific'], features['shared'], labels,
                                       modality, self.num_classes))
        if self.with_fmc:
            losses.update(self._fmc_generator_losses(features))
        if self.with_sff:
            losses['loss_mc'] = self.mc_loss(features['fused'], labels, modality,
                                             self.num_classes)
            losses['loss_fid'] = w['fid'] * per_modality_cross_entropy(
                features['logits_fp'], labels, modality)
            weights = self._fusion.fusion_weights.detach()
            for row, modality_name in enumerate(('vis', 'ir')[:weights.size(0)]):
                losses[f'fusion_w1_{modality_name}'] = weights[row, 0]
                losses[f'fusion_w2_{modality_name}'] = weights[row, 1]
        return losses

    def _fmc_generator_losses(self, features: dict) -> Dict[str, torch.Tensor]:
        """Eqs. 12 (non-saturating G side), 13 and 14, summed over both directions."""
        w = self.loss_weights
        labels, generated = features['labels'], features['generated']
        is_ir = features['modality'].float()
        is_vis = 1 - is_ir
        d_v2i = frozen_call(self.discriminator_v2i, generated)
        d_i2v = frozen_call(self.discriminator_i2v, generated)
        loss_gan = (generator_adversarial_loss(d_v2i, is_vis) +
                    generator_adversarial_loss(d_i2v, is_ir))

        centers_v, present_v, centers_i, present_i = modality_centers(
            features['specific'].detach(), labels, features['modality'], self.num_classes)
        # a visible sample's generated feature is compared with the real
        # infrared center of its identity (when that identity has infrared
        # samples in the batch), and vice versa
        target = torch.where(is_ir.bool().unsqueeze(1), centers_v[labels], centers_i[labels])
        has_v2i = is_vis * present_i[labels].float()
        has_i2v = is_ir * present_v[labels].float()
        loss_fc = (feature_consistency_loss(generated, target, has_v2i, self.fc_reduction) +
                   feature_consistency_loss(generated, target, has_i2v, self.fc_reduction))

        logits = features['logits_generated']
        loss_ic = (identity_consistency_loss(logits, labels, is_vis) +
                   identity_consistency_loss(logits, labels, is_ir))
        return dict(loss_gan=w['gan'] * loss_gan, loss_fc=w['fc'] * loss_fc,
                    loss_ic=w['ic'] * loss_ic)

    # ------------------------------------------------------------------ steps
    def train_step(self, data, optim_wrapper) -> Dict[str, torch.Tensor]:
        if self.with_fmc:
            return super().train_step(data, optim_wrapper)
        main = (optim_wrapper[self.main_key]
                if isinstance(optim_wrapper, OptimWrapperDict) else optim_wrapper)
        refuse_accumulation(self, (main, ))
        data = self.data_preprocessor(data, True)
        with main.optim_context(self):
            features = self.forward_train(data['inputs'], data['data_samples'])
            losses = self.loss_terms(self.main_loss, features, data['data_samples'])
        total, log_vars = self.parse_losses(losses)
        guarded_update(main, total, log_vars)
        return log_vars

    def forward(self, inputs: torch.Tensor,
                data_samples: Optional[List[ReIDDataSample]] = None,
                mode: str = 'tensor'):
        if data_samples is None:
            raise ValueError(f'{type(self).__name__} needs data_samples (their '
                             '"modality" routes each image); got None')
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs, data_samples)
        raise ValueError(f"mode must be 'loss', 'predict' or 'tensor', got {mode!r}")

    def loss(self, inputs: torch.Tensor,
             data_samples: List[ReIDDataSample]) -> Dict[str, torch.Tensor]:
        """Both steps' terms at once (for validation losses; training uses :meth:`train_step`)."""
        features = self.forward_train(inputs, data_samples)
        losses = self.main_loss(features, data_samples)
        if self.with_fmc:
            detached = {k: v.detach() for k, v in features.items()}
            losses.update(self.adversary_loss(detached, data_samples))
        return losses

    def extract_feat(self, inputs: torch.Tensor,
                     data_samples: List[ReIDDataSample]) -> torch.Tensor:
        """The test features ``[B, C]`` chosen by ``test_feature`` (not normalised)."""
        feats = self._features(inputs, batch_labels(data_samples, 'modality'))
        modality = feats['modality']
        if self.test_feature == 'fused':
            return self._fusion.fuse(feats['shared'], feats['specific'], feats['generated'],
                                    modality)
        if self.test_feature == 'concat':
            parts = [feats['shared'], feats['specific']]
            if self.with_fmc:
                parts.append(feats['generated'])
            return torch.cat(parts, dim=1)
        return feats[self.test_feature]

    def predict(self, inputs: torch.Tensor,
                data_samples: List[ReIDDataSample]) -> List[ReIDDataSample]:
        feats = self.extract_feat(inputs, data_samples)
        if self.flip_test:
            feats = (feats + self.extract_feat(inputs.flip(-1), data_samples)) / 2
        feats = F.normalize(feats, dim=1)
        for sample, feat in zip(data_samples, feats):
            sample.pred_feature = feat
        return data_samples
