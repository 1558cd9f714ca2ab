import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import rag  # noqa: F401  (first: the offline environment)
from rag.embeddings import SentenceTransformerEmbeddings
from rag.ingest import ingest
from rag.model_files import MODEL_FILENAME, ensure_model
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store import DocumentStore, open_store

from offline_guard import MARKER, NetworkGuard

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ARTICLE = CORPUS / "meta-behemoth-open-source.txt"
VENV_BIN = Path(sys.executable).parent
# Under pytest-xdist (`make test` runs two workers on two cores) each worker and its
# children get one thread: oversubscribed llama.cpp and torch threads stall each other
# (DESIGN.md), and one llama.cpp thread generates as fast as two here. A first question
# that reads a whole prompt cold took over the default 120 s once, on one thread beside
# the other worker's model.
WORKER_ENV = (
    {"RAG_LLM__THREADS": "1", "OMP_NUM_THREADS": "1", "RAG_LLM__TIMEOUT_S": "600"}
    if os.environ.get("PYTEST_XDIST_WORKER")
    else {}
)
os.environ.update(WORKER_ENV)
if WORKER_ENV:  # torch only where it is set: a unit-test run need not import it
    import torch

    torch.set_num_threads(1)


def child_env(**extra: str) -> dict[str, str]:
    """The environment of a `rag` child process: no RAG_* of the developer's, the
    network guard (subprocess_site) and the worker's thread limits."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    return env | WORKER_ENV | {"PYTHONPATH": str(Path(__file__).parent / "subprocess_site")} | extra


@pytest.fixture(autouse=True)
def network_guard() -> Iterator[NetworkGuard]:
    """Fails any test that connects, or resolves a name, beyond loopback."""
    guard = NetworkGuard()
    guard.install()
    try:
        yield guard
    finally:
        guard.uninstall()
    if guard.violations:
        pytest.fail(f"test reached beyond loopback: {guard.violations}")


@pytest.fixture(autouse=True)
def _isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No developer's rag.toml or RAG_* variables leak into a test."""
    for name in list(os.environ):
        if name.startswith("RAG_") and name not in WORKER_ENV:
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


@pytest.fixture(scope="session")
def embeddings() -> SentenceTransformerEmbeddings:
    """The real packaged model, loaded once for the whole run."""
    return SentenceTransformerEmbeddings.from_settings(Settings().embeddings)


@pytest.fixture(scope="session")
def model_file() -> Path:
    """The real packaged chat model, assembled once per checkout (in the ignored .rag/)."""
    return ensure_model(ROOT / ".rag" / "models" / MODEL_FILENAME, progress=False)


@pytest.fixture(scope="session")
def corpus_settings(tmp_path_factory: pytest.TempPathFactory, model_file: Path) -> Settings:
    """Settings for an index of corpus/ shared by the tests that only read it."""
    settings = Settings(
        data_dir=tmp_path_factory.mktemp("corpus-index"), llm={"model_file": model_file}
    )
    pipeline = Pipeline.from_settings(settings)
    ingest([CORPUS], pipeline.store, pipeline.embeddings, settings, progress=False)
    return settings


@pytest.fixture(scope="session")
def corpus_pipeline(corpus_settings: Settings) -> Pipeline:
    return Pipeline.from_settings(corpus_settings)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "index")


@pytest.fixture
def store(settings: Settings, embeddings: SentenceTransformerEmbeddings) -> DocumentStore:
    return open_store(settings, embeddings)


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


def run_rag(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> CliResult:
    """Run the installed `rag` command in a child process under the network guard."""
    done = subprocess.run(
        [str(VENV_BIN / "rag"), *args],
        cwd=cwd,
        env=child_env(**(env or {})),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert MARKER not in done.stderr, done.stderr
    return CliResult(done.returncode, done.stdout, done.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class UIServer:
    """`rag ui` in a child process under the network guard; `url` once it is serving."""

    def __init__(self, data_dir: Path, env: dict[str, str], *args: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(VENV_BIN / "rag"), "ui", "--port", str(self.port), *args],
            cwd=data_dir.parent,
            env=child_env(RAG_DATA_DIR=str(data_dir), **env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.output: list[str] = []
        self._ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(180) or self.process.poll() is not None:
            self.stop()
            pytest.fail("rag ui did not start:\n" + "".join(self.output))
        self.url = f"http://127.0.0.1:{self.port}/"

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("rag ui: serving"):
                self._ready.set()
        self._ready.set()  # the process ended: stop waiting

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
        assert MARKER not in "".join(self.output), "".join(self.output)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's chromium under playwright, one per test module."""
    from browser_page import CHROMIUM, CHROMIUM_FLAGS
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium (done by .ci/run)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()
