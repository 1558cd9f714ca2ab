"""Cold start and memory of `rag ui`: a new process on the existing index, timed from
its start until the page is served and until the model answers, then its peak RSS.

"Cold" is a new process; the operating system may still have the files in its cache.
"""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from rag.settings import Settings

TIMEOUT_S = 180.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _peak_rss_mb(pid: int) -> dict[str, float]:
    """VmHWM is the most resident memory the process ever had; VmRSS what it has now."""
    with open(f"/proc/{pid}/status", encoding="utf-8") as status_file:
        status = dict(line.split(":", 1) for line in status_file if ":" in line)
    return {
        "peak_rss_mb": round(int(status["VmHWM"].split()[0]) / 1024, 1),
        "rss_after_answer_mb": round(int(status["VmRSS"].split()[0]) / 1024, 1),
    }


class _NotReady(Exception):
    pass


def _wait_for(
    ui: subprocess.Popen[bytes], log: Path, began: float, probe: Callable[[], None]
) -> float:
    """Repeat `probe` until it passes; the time (since `began`) of the try that did."""
    while True:
        if ui.poll() is not None:
            error = log.read_text(encoding="utf-8", errors="replace").strip()
            raise _NotReady(error.splitlines()[-1] if error else f"exit {ui.returncode}")
        if time.perf_counter() - began > TIMEOUT_S:
            raise _NotReady(f"not ready within {TIMEOUT_S:.0f} s")
        tried = time.perf_counter()
        try:
            probe()
            return tried - began
        except (httpx.TransportError, _NotReady):
            time.sleep(0.1)


def ui_startup(settings: Settings, question: str) -> dict[str, Any]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    key = settings.api_key.get_secret_value() if settings.api_key else None
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = {"model": "rag", "messages": [{"role": "user", "content": question}]}
    command = [sys.executable, "-m", "rag.cli", "--data-dir", str(settings.data_dir.resolve())]
    log = settings.data_dir / "bench" / "ui.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    began = time.perf_counter()
    with log.open("wb") as stderr:
        ui = subprocess.Popen(
            [*command, "ui", "--host", "127.0.0.1", "--port", str(port)],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env=os.environ.copy(),
        )
    client = httpx.Client(timeout=httpx.Timeout(120.0, connect=1.0))

    def page() -> None:
        client.get(base + "/").raise_for_status()

    def answer() -> None:
        reply = client.post(base + "/v1/chat/completions", json=request, headers=headers)
        if reply.status_code == 503:  # the model is still loading
            raise _NotReady
        reply.raise_for_status()

    try:
        figures = {"page_served_s": round(_wait_for(ui, log, began, page), 2)}
        figures["model_ready_s"] = round(_wait_for(ui, log, began, answer), 2)
        figures["first_answer_s"] = round(time.perf_counter() - began, 2)
        return figures | _peak_rss_mb(ui.pid)
    except _NotReady as exc:
        return {"error": str(exc)}
    finally:
        client.close()
        ui.terminate()
        try:
            ui.wait(timeout=15)
        except subprocess.TimeoutExpired:
            ui.kill()
