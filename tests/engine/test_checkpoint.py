import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub
from mmengine.runner import CheckpointLoader

from vireid.engine import describe_mismatch, safe_load, trust_checkpoints


class _Payload:
    """An arbitrary object a malicious checkpoint could carry."""

    def __reduce__(self):
        return (print, ('code ran',))


class _BlockedModuleCall:
    """A call into a module torch's weights-only unpickler blocks outright (``os``)."""

    def __reduce__(self):
        return (os.getcwd, ())


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


def test_a_call_into_a_blocked_module_is_a_refusal_not_corruption(tmp_path):
    path = tmp_path / 'blocked.pth'
    torch.save({'state_dict': {}, 'x': _BlockedModuleCall()}, path)
    with pytest.raises(pickle.UnpicklingError, match=r'blocked.pth: refused to load .*getcwd.*'
                                                     r'load it with --trust-checkpoint'):
        safe_load(str(path))


def test_truncated_checkpoint_names_file(tmp_path):
    path = tmp_path / 'cut.pth'
    _mmengine_like_checkpoint(path)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(RuntimeError, match='cut.pth'):
        safe_load(str(path))


@pytest.mark.parametrize('content', [bytes(range(7, 250)), b"model = dict(type='AGW')\n"])
@pytest.mark.parametrize('trusted', [False, True])
def test_a_file_that_is_no_checkpoint_is_called_so(tmp_path, content, trusted):
    # not a refusal: trusting random bytes or a config file would not help
    path = tmp_path / 'random.pth'
    path.write_bytes(content)
    with trust_checkpoints(trusted), pytest.raises(RuntimeError) as err:
        safe_load(str(path))
    assert str(err.value).startswith(f'{path}: not a PyTorch checkpoint')
    assert 'trust' not in str(err.value)


def test_an_empty_file_is_called_empty(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    with pytest.raises(RuntimeError, match=r'empty.pth: .*the file is empty \(0 bytes\)'):
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


def test_describe_mismatch_counts_each_kind_and_names_the_first(tmp_path):
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2))
    other = torch.nn.Sequential(torch.nn.Linear(4, 5))       # 0.weight reshaped, 0.bias too
    state = {f'module.{k}': v for k, v in other.state_dict().items()}
    state['extra.scale'] = torch.ones(1)
    path = tmp_path / 'other.pth'
    torch.save(dict(state_dict=state), path)
    line = describe_mismatch(str(path), model, shown=1)
    assert line.startswith(f'{path} does not hold the weights of this Sequential')
    assert ('2 keys missing from the file (e.g. 1.weight); 1 keys not in the model '
            '(e.g. extra.scale); 2 keys of another shape (e.g. 0.weight)') in line
