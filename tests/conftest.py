"""Shared fixtures: a small synthetic dataset tree, generated once per test session."""
import pytest
import torch


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if 'gpu' in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """Root holding ``SYSU-MM01``, ``RegDB`` and ``LLCM`` in their real layouts."""
    from vireid.datasets.synthetic import make_synthetic
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic(root, num_ids=24, seed=0, progress=False)
    return root
