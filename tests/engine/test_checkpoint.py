import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import CheckpointLoader

from vireid.engine import safe_load, trust_checkpoints


class _Payload:
    """An arbitrary object a malicious checkpoint could carry."""

    def __reduce__(self):
        return (print, ('code ran',))


def _mmengine_like_checkpoint(path):
    hub = MessageHub.get_instance('test_checkpoint')
    hub.update_scalar('train/loss', 0.5)
    hub.update_info('iter', 7)
    torch.save({'state_dict': {'w': torch.arange(3.)}, 'message_hub': hub.state_dict(),
                'meta': {'seed': np.int64(3), 'epoch': 2}}, path)


def test_own_checkpoint_loads_weights_only(tmp_path):
    path = tmp_path / 'epoch_2.pth'
    _mmengine_like_checkpoint(path)
    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert torch.equal(ckpt['state_dict']['w'], torch.arange(3.))
    assert ckpt['meta']['seed'] == 3
    assert ckpt['message_hub']['log_scalars']['train/loss'].current() == 0.5


def test_arbitrary_object_is_refused_and_names_file(tmp_path, capsys):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': {}, 'x': _Payload()}, path)
    with pytest.raises(pickle.UnpicklingError, match='evil.pth'):
        safe_load(str(path))
    assert 'code ran' not in capsys.readouterr().out
    with trust_checkpoints():
        safe_load(str(path))
    assert 'code ran' in capsys.readouterr().out


def test_truncated_checkpoint_names_file(tmp_path):
    path = tmp_path / 'cut.pth'
    _mmengine_like_checkpoint(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(RuntimeError, match='cut.pth'):
        safe_load(str(path))


def test_fresh_process_loads_a_training_checkpoint(tmp_path):
    # HistoryBuffer registers its statistics methods only once a buffer
    # exists: a process that loads before making any must still accept them
    import subprocess
    import sys
    path = tmp_path / 'epoch_1.pth'
    _mmengine_like_checkpoint(path)
    code = ('from vireid.engine import safe_load; '
            f'print(safe_load({str(path)!r})["message_hub"]["log_scalars"]["train/loss"].mean())')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith('0.5')
