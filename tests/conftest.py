"""Shared fixtures: a small synthetic dataset tree, generated once per test session; a free port."""
import socket

import pytest
import torch

from vireid.datasets.packed_images import DEFAULT_RESIZE, pack_file_name


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason='needs a CUDA device')
    for item in items:
        if 'gpu' in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on, for a process group's rendezvous."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


@pytest.fixture(scope='session')
def synthetic_root(tmp_path_factory):
    """Root holding ``SYSU-MM01``, ``RegDB`` and ``LLCM`` in their real layouts."""
    from vireid.datasets.synthetic import make_synthetic
    root = tmp_path_factory.mktemp('synthetic')
    make_synthetic(root, num_ids=24, seed=0, progress=False)
    return root


@pytest.fixture
def shrink_to_pack():
    """``shrink(cfg, root, work_dir)``: an AGW config on an image pack, small enough for a CPU.

    A ResNet-18 of width 8, one epoch, every loader in the main process on
    ``root`` and its 32x16 pack (``pack_images.py --img-size 32 16``).
    """
    def shrink(cfg, root, work_dir):
        cfg.work_dir = str(work_dir)
        cfg.model.backbone.update(depth=18, base_channels=8, init_cfg=None,
                                  non_local=dict(layer2=(1, ), layer3=(1, )))
        cfg.model.head.in_channels = 64
        for key in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
            cfg[key].update(num_workers=0, persistent_workers=False)
            cfg[key].dataset.data_root = str(root)
            loader = cfg[key].dataset.pipeline[0]
            resize = {k: loader.get(k, v) for k, v in DEFAULT_RESIZE.items()}
            loader.update(pack_file=pack_file_name((32, 16), **resize), img_size=(32, 16))
        cfg.train_cfg.update(max_epochs=1, val_interval=1)
        return cfg
    return shrink
