import json
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from rag.offline import OFFLINE_ENV

from conftest import VENV_BIN
from offline_guard import MARKER, NetworkBlockedError, NetworkGuard


def test_guard_blocks_a_connection_beyond_loopback(network_guard: NetworkGuard) -> None:
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("93.184.216.34", 80), timeout=1)
    assert network_guard.violations == ["connect to ('93.184.216.34', 80)"]
    network_guard.violations.clear()  # the violation was this test's intent


def test_guard_blocks_dns_lookups(network_guard: NetworkGuard) -> None:
    with pytest.raises(NetworkBlockedError):
        socket.getaddrinfo("huggingface.co", 443)
    assert len(network_guard.violations) == 1
    network_guard.violations.clear()


def test_guard_allows_loopback(network_guard: NetworkGuard) -> None:
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        accepted = threading.Thread(target=lambda: server.accept()[0].close())
        accepted.start()
        with socket.create_connection(("localhost", port), timeout=5):
            pass
        accepted.join(5)
    assert network_guard.violations == []


def test_importing_rag_sets_offline_env_before_hub_libraries() -> None:
    code = (
        "import os; os.environ['HF_HUB_OFFLINE'] = '0'\n"
        "import rag, huggingface_hub.constants as c\n"
        "assert c.HF_HUB_OFFLINE, 'hub not offline'\n"
        "assert c.HF_HUB_DISABLE_TELEMETRY\n"
        "print(sorted(k for k in os.environ if k in rag.offline.OFFLINE_ENV))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(sorted(OFFLINE_ENV))


def _can_unshare_network() -> bool:
    try:
        return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0
    except OSError:
        return False


@pytest.mark.slow
@pytest.mark.skipif(
    not _can_unshare_network(),
    reason="no network namespaces here (unshare -rn needs user namespaces); the socket guard "
    "covers every other test",
)
def test_the_ask_path_works_in_a_namespace_with_only_loopback(corpus_settings):
    """No route beyond loopback exists in there: anything that reached out would fail,
    and the socket guard inside the process would report it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env |= {
        "PYTHONPATH": str(Path(__file__).parent / "subprocess_site"),
        "RAG_DATA_DIR": str(corpus_settings.data_dir),
        "RAG_LLM__MODEL_FILE": str(corpus_settings.model_file),
    }
    script = (
        "ip link set lo up && "
        f"ip -o route show | wc -l && exec {VENV_BIN / 'rag'} ask --json "
        "'What did the Meta spokesperson say?'"
    )
    done = subprocess.run(
        ["unshare", "-rn", "sh", "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    routes, answer_line = done.stdout.splitlines()
    assert routes.strip() == "0"  # no default route, no interface but loopback
    answer = json.loads(answer_line)
    assert not answer["refused"] and answer["citations"], answer
    assert MARKER not in done.stderr
