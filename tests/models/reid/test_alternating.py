import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.optim import OptimWrapper, OptimWrapperDict

from vireid.models.reid.alternating import AlternatingReIDModel, frozen_call


class _ToyAdversarial(AlternatingReIDModel):
    """An extractor and a classifier playing the MCLNet-style min-max."""

    def __init__(self):
        super().__init__()
        self.extractor = nn.Linear(3, 4)
        self.critic = nn.Linear(4, 2)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        return self.extractor(inputs)

    def forward_train(self, inputs, data_samples):
        return dict(feats=self.extractor(inputs), target=data_samples)

    def adversary_loss(self, features, data_samples):
        return dict(loss_critic=F.cross_entropy(self.critic(features['feats']), features['target']))

    def main_loss(self, features, data_samples):
        logits = frozen_call(self.critic, features['feats'])
        return dict(loss_confuse=-F.cross_entropy(logits, features['target']))


def _wrappers(model):
    return OptimWrapperDict(
        main=OptimWrapper(torch.optim.SGD(model.extractor.parameters(), lr=0.1)),
        adversary=OptimWrapper(torch.optim.SGD(model.critic.parameters(), lr=0.1)))


def _snapshot(module):
    return [p.detach().clone() for p in module.parameters()]


def test_each_step_updates_only_its_own_weights():
    torch.manual_seed(0)
    model = _ToyAdversarial()
    wrappers = _wrappers(model)
    data = dict(inputs=torch.randn(8, 3), data_samples=torch.tensor([0, 1] * 4))
    extractor, critic = _snapshot(model.extractor), _snapshot(model.critic)

    # the adversary step alone: features detached, so the extractor stays put
    model.main_loss = lambda features, samples: dict(loss_none=features['feats'].sum() * 0)
    model.train_step(data, wrappers)
    assert all(torch.equal(a, b) for a, b in zip(extractor, _snapshot(model.extractor)))
    assert not all(torch.equal(a, b) for a, b in zip(critic, _snapshot(model.critic)))

    # the main step alone: the frozen critic passes gradient but never changes
    del model.main_loss
    model.adversary_loss = lambda features, samples: dict(
        loss_none=model.critic(features['feats']).sum() * 0)
    critic = _snapshot(model.critic)
    log = model.train_step(data, wrappers)
    assert all(torch.equal(a, b) for a, b in zip(critic, _snapshot(model.critic)))
    assert not all(torch.equal(a, b) for a, b in zip(extractor, _snapshot(model.extractor)))
    assert all(p.grad is None or not p.grad.any() for p in model.critic.parameters())
    assert {'loss', 'loss_adversary', 'loss_confuse'} <= set(log)
