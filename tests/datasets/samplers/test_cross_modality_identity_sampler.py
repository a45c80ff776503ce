import math

import numpy as np
import pytest
from mmengine.registry import DefaultScope
from mmengine.runner import Runner

import vireid.datasets.samplers.cross_modality_identity_sampler as module
from vireid.datasets import CrossModalityIdentitySampler, SYSUMM01Dataset


class InfoList:
    """The two fields the sampler reads, for datasets of any shape."""

    def __init__(self, infos):
        self.infos = infos

    def __len__(self):
        return len(self.infos)

    def get_data_info(self, idx):
        return self.infos[idx]


def make_dataset(counts):
    """``counts``: {label: (n_visible, n_infrared)}; pid = 100 + label."""
    infos = []
    for label, (n_vis, n_ir) in counts.items():
        for modality, n in ((0, n_vis), (1, n_ir)):
            infos += [dict(gt_label=label, pid=100 + label,
                           modality=modality)] * n
    order = np.random.default_rng(0).permutation(len(infos))
    return InfoList([infos[i] for i in order])


def chunks(sampler):
    indices = list(sampler)
    size = sampler.num_ids * 2 * sampler.num_instances
    assert len(indices) == len(sampler) and len(indices) % size == 0
    return [indices[i:i + size] for i in range(0, len(indices), size)]


def check_composition(dataset, sampler):
    """Each chunk: P distinct ids, each K visible then K infrared."""
    k = sampler.num_instances
    for chunk in chunks(sampler):
        labels = []
        for start in range(0, len(chunk), 2 * k):
            group = [
                dataset.get_data_info(i) for i in chunk[start:start + 2 * k]
            ]
            assert [g['modality'] for g in group] == [0] * k + [1] * k
            assert len({g['gt_label'] for g in group}) == 1
            labels.append(group[0]['gt_label'])
        assert len(set(labels)) == sampler.num_ids


COUNTS = {label: (6 + label % 3, 4 + label % 2) for label in range(10)}


def test_batches_hold_p_identities_with_k_images_per_modality():
    dataset = make_dataset(COUNTS)
    sampler = CrossModalityIdentitySampler(dataset, num_ids=4,
                                           num_instances=3, seed=0)
    for epoch in range(5):
        sampler.set_epoch(epoch)
        check_composition(dataset, sampler)


def test_length_covers_the_larger_modality_once():
    dataset = make_dataset(COUNTS)
    n_vis = sum(v for v, _ in COUNTS.values())  # 69 > 50 infrared
    sampler = CrossModalityIdentitySampler(dataset, 4, 3, seed=0)
    assert len(sampler) == math.ceil(n_vis / 12) * 24 == 144
    assert len(list(sampler)) == 144


def test_images_repeat_only_when_an_identity_has_fewer_than_k():
    dataset = make_dataset({0: (2, 5), 1: (5, 5), 2: (5, 1)})
    sampler = CrossModalityIdentitySampler(dataset, 3, 4, seed=1)
    for chunk in chunks(sampler):
        for start in range(0, len(chunk), 4):
            group = chunk[start:start + 4]
            info = dataset.get_data_info(group[0])
            available = {(0, 0): 2, (0, 1): 5, (1, 0): 5, (1, 1): 5,
                         (2, 0): 5, (2, 1): 1}[(info['gt_label'],
                                                info['modality'])]
            assert len(set(group)) == min(4, available)


def test_replace_draws_with_replacement_as_the_reference_code():
    dataset = make_dataset({label: (5, 5) for label in range(3)})
    sampler = CrossModalityIdentitySampler(dataset, 3, 4, seed=1, replace=True)
    check_composition(dataset, sampler)
    groups = [chunk[start:start + 4] for chunk in chunks(sampler)
              for start in range(0, len(chunk), 4)]
    # 5 images, 4 draws with replacement: no repeat with probability 0.19 per group
    assert sum(len(set(group)) < 4 for group in groups) > len(groups) // 2


def test_identities_lacking_a_modality_are_excluded_with_a_warning(
        monkeypatch):
    messages = []
    monkeypatch.setattr(module, 'print_log',
                        lambda msg, **kwargs: messages.append(msg))
    dataset = make_dataset({0: (4, 4), 1: (4, 0), 2: (4, 4), 3: (0, 3)})
    sampler = CrossModalityIdentitySampler(dataset, 2, 2, seed=0)
    sampled = {dataset.get_data_info(i)['gt_label'] for i in sampler}
    assert sampled == {0, 2}
    assert len(messages) == 1 and '[101, 103]' in messages[0]


def test_too_many_ids_per_batch_names_both_numbers():
    dataset = make_dataset({0: (4, 4), 1: (4, 4), 2: (4, 0)})
    with pytest.raises(ValueError, match=r'num_ids=3 .* the 2 identities'):
        CrossModalityIdentitySampler(dataset, num_ids=3, num_instances=2)


@pytest.mark.parametrize('kwargs', [dict(num_ids=0, num_instances=2),
                                    dict(num_ids=2, num_instances=1.5)])
def test_bad_sizes_are_errors(kwargs):
    with pytest.raises(ValueError, match='positive integer'):
        CrossModalityIdentitySampler(make_dataset(COUNTS), **kwargs)


def test_replace_must_be_a_bool():
    # a string from --cfg-options would otherwise be truthy
    with pytest.raises(ValueError, match="replace must be True or False, got 'False'"):
        CrossModalityIdentitySampler(make_dataset(COUNTS), 2, 2, replace='False')


def test_test_split_labels_are_rejected():
    with pytest.raises(ValueError, match='gt_label -1'):
        CrossModalityIdentitySampler(
            InfoList([dict(gt_label=-1, modality=0)]), 1, 1)


def test_set_epoch_reshuffles_and_the_order_is_reproducible():
    dataset = make_dataset(COUNTS)
    a = CrossModalityIdentitySampler(dataset, 4, 3, seed=7)
    b = CrossModalityIdentitySampler(dataset, 4, 3, seed=7)
    assert list(a) == list(b)
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first
    b.set_epoch(1)
    assert list(a) == list(b)


def test_ranks_draw_different_whole_identity_batches(monkeypatch):
    dataset = make_dataset(COUNTS)
    per_rank = []
    for rank in (0, 1):
        monkeypatch.setattr(module, 'get_dist_info', lambda r=rank: (r, 2))
        sampler = CrossModalityIdentitySampler(dataset, 4, 3, seed=5)
        # 6 chunks in all for one process, split over two ranks
        assert len(sampler) == math.ceil(6 / 2) * 24
        check_composition(dataset, sampler)
        per_rank.append(list(sampler))
    assert per_rank[0] != per_rank[1]


def test_real_dataloader_from_config_yields_cross_modality_batches(tiny_sysu):
    dataset = SYSUMM01Dataset(
        str(tiny_sysu), serialize_data=False,
        pipeline=[dict(type='LoadReIDImageFromFile'),
                  dict(type='PackReIDInputs')])
    # the scope that the Runner sets from default_scope='vireid'
    with DefaultScope.overwrite_default_scope('vireid'):
        loader = Runner.build_dataloader(
            dict(batch_size=3 * 2 * 2, num_workers=0,
                 sampler=dict(type='CrossModalityIdentitySampler', num_ids=3,
                              num_instances=2),
                 dataset=dataset), seed=0)
    assert isinstance(loader.sampler, CrossModalityIdentitySampler)
    batches = list(loader)
    assert len(batches) == len(loader.sampler) // 12
    for batch in batches:
        samples = batch['data_samples']
        assert len(samples) == 12
        assert [s.modality for s in samples] == [0, 0, 1, 1] * 3
        pids = [s.pid for s in samples]
        assert all(len(set(pids[i:i + 4])) == 1 for i in range(0, 12, 4))
        assert len(set(pids)) == 3
