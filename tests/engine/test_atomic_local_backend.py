import os

import pytest
import torch
from mmengine.fileio import get_file_backend

import vireid.engine  # noqa: F401  (registers the atomic backend)
from vireid.engine import find_resumable_checkpoint


def test_failed_write_keeps_previous_file(tmp_path, monkeypatch):
    target = tmp_path / 'epoch_1.pth'
    backend = get_file_backend(str(target))
    backend.put(b'good checkpoint', str(target))

    def crash(fd):
        raise KeyboardInterrupt('killed during save')

    monkeypatch.setattr(os, 'fsync', crash)
    with pytest.raises(KeyboardInterrupt):
        backend.put(b'half', str(target))
    assert target.read_bytes() == b'good checkpoint'
    assert os.listdir(tmp_path) == ['epoch_1.pth']


def test_resume_skips_truncated_newest_checkpoint(tmp_path):
    for epoch in (1, 2, 10):
        torch.save({'epoch': epoch}, tmp_path / f'epoch_{epoch}.pth')
    newest = tmp_path / 'epoch_10.pth'
    newest.write_bytes(newest.read_bytes()[:40])
    (tmp_path / 'last_checkpoint').write_text(str(newest))
    assert find_resumable_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    assert find_resumable_checkpoint(str(tmp_path / 'missing')) is None
