# Loaded by Python at start-up in CLI processes the tests spawn (PYTHONPATH points here).
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import offline_guard

offline_guard.install_for_process()

# TEST_STALL_AFTER=module:Class.method: after that call returns, write TEST_STALL_FLAG
# and hang, so a test can kill -9 the process at exactly that point.
if stall := os.environ.get("TEST_STALL_AFTER"):
    import functools
    import importlib
    import time

    module_name, _, qualified = stall.partition(":")
    owner = importlib.import_module(module_name)
    *path, name = qualified.split(".")
    for part in path:
        owner = getattr(owner, part)
    real = getattr(owner, name)

    @functools.wraps(real)
    def stalled(*args, **kwargs):
        result = real(*args, **kwargs)
        Path(os.environ["TEST_STALL_FLAG"]).write_text("stalled")
        while True:
            time.sleep(60)
        return result

    setattr(owner, name, stalled)
