# Loaded by Python at start-up in CLI processes the tests spawn (PYTHONPATH points here).
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import offline_guard

offline_guard.install_for_process()
