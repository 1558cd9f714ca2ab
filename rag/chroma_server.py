"""`rag chroma-server`: Chroma's own server (`chroma run`), for `RAG_CHROMA_URL`.

Several machines or processes can then share one store; every `rag` command reaches it
through `chromadb.HttpClient` when `chroma_url` is set (see `rag.store.chroma_client`).
"""

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from rag.errors import RagError


def chroma_executable() -> str:
    """The `chroma` command installed with chromadb, beside this Python first."""
    beside = Path(sys.executable).parent / "chroma"
    found = str(beside) if beside.is_file() else shutil.which("chroma")
    if not found:
        raise RagError("the `chroma` command is not installed; run `make install`")
    return found


def start(path: Path, host: str, port: int) -> subprocess.Popen[bytes]:
    """Start `chroma run` in the background; its output goes to <path>/server.log."""
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            raise RagError(f"cannot serve on {host}:{port}: in use or not allowed") from None
    path.mkdir(parents=True, exist_ok=True)
    log = (path / "server.log").open("ab")
    command = [chroma_executable(), "run", "--path", str(path), "--host", host]
    return subprocess.Popen(
        [*command, "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )


def wait_ready(server: subprocess.Popen[bytes], url: str, timeout_s: float = 30.0) -> None:
    """Return once the server answers its heartbeat; fail if it exits or never does."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RagError(f"the Chroma server exited with status {server.returncode}")
        try:
            httpx.get(f"{url}/api/v2/heartbeat", timeout=1.0).raise_for_status()
            return
        except httpx.HTTPError:
            time.sleep(0.2)
    server.terminate()
    raise RagError(f"the Chroma server at {url} did not start within {timeout_s:.0f} s")


def stop(server: subprocess.Popen[bytes]) -> None:
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


def serve(path: Path, host: str, port: int) -> None:
    """Run a server in the foreground until Ctrl-C."""
    url = f"http://{host}:{port}"
    server = start(path, host, port)
    try:
        wait_ready(server, url)
        print(f"Chroma server on {url}, data in {path} (log: {path / 'server.log'})")
        print(f"Point rag at it: export RAG_CHROMA_URL={url}   (Ctrl-C stops it)", flush=True)
        server.wait()
        raise RagError(f"the Chroma server exited with status {server.returncode}")
    finally:
        stop(server)
