import socket
import subprocess
import sys
import threading

import pytest

from rag.offline import OFFLINE_ENV

from offline_guard import NetworkBlockedError, NetworkGuard


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
