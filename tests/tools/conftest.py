"""What the tool tests share."""
import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope='session')
def run_command():
    """``run_command(args, env={...})``: a tool run from the repository as a user runs it (on the
    CPU, one thread); asserts it succeeded and returns its stdout and stderr."""
    def run(args, env=None, timeout=600):
        full_env = dict(os.environ, PYTHONPATH=str(ROOT), CUDA_VISIBLE_DEVICES='',
                        OMP_NUM_THREADS='1', **(env or {}))
        result = subprocess.run([str(arg) for arg in args], cwd=ROOT, env=full_env,
                                capture_output=True, text=True, timeout=timeout)
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
        return result.stdout + result.stderr
    return run
