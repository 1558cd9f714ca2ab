import json
import socket
import subprocess
import sys
import threading

import pytest

from rag.offline import OFFLINE_ENV

from conftest import VENV_BIN, child_env
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


EXAMPLE = "What did the Meta spokesperson say?"
UNUSUAL = [
    f"\x1b[1m{EXAMPLE}\x00\x07",  # terminal codes and control characters around it
    f"{EXAMPLE} 🤔🚀",
    "Meta 发言人说了什么\uff1f",  # a full-width question mark
    "🦙🦙🦙",
]


@pytest.mark.slow
def test_rag_ask_json_batch_works_with_only_loopback(corpus_settings):
    """`rag ask --json -` in a network namespace with no route beyond loopback (where
    this machine allows one; the socket guard watches either way): anything that reached
    out would fail there. One question per line, model loaded once: the awkward ones
    (control characters, emoji, other scripts) each get an answer or a refusal, a blank
    line gets an error line of its own, and a JSON line carries a follow-up's history."""
    env = child_env(
        RAG_DATA_DIR=str(corpus_settings.data_dir),
        RAG_LLM__MODEL_FILE=str(corpus_settings.model_file),
    )
    follow_up = {
        "question": "and who must approve it?",
        "history": [{"question": EXAMPLE, "answer": "x"}],
    }
    stdin = "\n".join([*UNUSUAL, "", json.dumps(follow_up)]) + "\n"
    ask = f"{VENV_BIN / 'rag'} ask --json -"
    isolated = _can_unshare_network()
    command = (
        ["unshare", "-rn", "sh", "-c", f"ip link set lo up && ip -o route show | wc -l && {ask}"]
        if isolated
        else ["sh", "-c", f"echo 0 && {ask}"]
    )
    done = subprocess.run(
        command, env=env, input=stdin, capture_output=True, text=True, timeout=600
    )
    routes, *lines = done.stdout.splitlines()
    assert routes.strip() == "0"  # no default route, no interface but loopback
    assert MARKER not in done.stderr
    assert done.returncode == 1, done.stderr  # the blank line
    answers = [json.loads(line) for line in lines]
    assert len(answers) == len(UNUSUAL) + 2
    *unusual, blank, follow = answers
    assert all("error" not in a and isinstance(a["refused"], bool) for a in unusual)
    cleaned, with_emoji = unusual[0], unusual[1]
    assert cleaned["question"] == EXAMPLE  # the same question once the controls are gone
    assert not cleaned["refused"] and cleaned["citations"], cleaned
    assert set(cleaned["timings"]) >= {"retrieve_s", "first_token_s", "total_s"}
    assert all(
        set(c) >= {"n", "source", "chunk_id", "start", "end", "text"} for c in cleaned["citations"]
    )
    assert with_emoji["refused"] or with_emoji["citations"], with_emoji
    assert unusual[-1]["refused"]  # emoji alone ask nothing the article answers
    assert blank == {"question": "", "error": "the question is empty"}
    assert follow["standalone_question"] != "and who must approve it?"
