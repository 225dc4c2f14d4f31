"""The examples in python/examples run to their own assertions."""
import os
import subprocess
import sys

import pytest

EXAMPLES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "examples")


@pytest.mark.parametrize("script, args", [
    ("guide_basics.py", []),
    ("torch_digits_asha_tpe.py", ["12"]),
    ("torch_digits_pbt.py", []),
    ("sklearn_cv.py", []),
])
def test_example_runs(script, args, tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    done = subprocess.run([sys.executable, os.path.join(EXAMPLES, script)] + args, cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
