"""Every real-dataset config resizes as the reference code does: PIL's Lanczos (its ANTIALIAS)."""
from pathlib import Path

import pytest
from mmengine.config import Config

CONFIGS = Path(__file__).resolve().parents[2] / 'configs'
REAL = sorted(str(p.relative_to(CONFIGS)) for method in ('agw', 'mclnet', 'fmcnet')
              for p in (CONFIGS / method).rglob('*.py') if 'synthetic' not in p.name)
LANCZOS = dict(interpolation='lanczos', backend='pillow')


def test_every_method_has_real_dataset_configs():
    assert len(REAL) > 30 and {name.split('/')[0] for name in REAL} == {'agw', 'mclnet', 'fmcnet'}


@pytest.mark.parametrize('name', REAL)
def test_train_and_test_images_are_resized_with_lanczos(name):
    cfg = Config.fromfile(CONFIGS / name)
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        first, second = cfg[loader].dataset.pipeline[:2]
        if first['type'] == 'LoadReIDImageFromPack':  # the pack was resized so
            assert {k: first.get(k) for k in LANCZOS} == LANCZOS, loader
            assert first['pack_file'].endswith('_pillow_lanczos.npy')
        else:
            assert second['type'] == 'Resize' and not second.get('keep_ratio', True)
            assert {k: second.get(k) for k in LANCZOS} == LANCZOS, loader
