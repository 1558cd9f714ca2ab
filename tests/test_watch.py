"""`rag ingest --watch` and `rag ui --watch`: the index follows the folders."""

import queue
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rag.errors import RagError
from rag.settings import Settings
from rag.store import open_store
from rag.watch import watched_folders

from conftest import VENV_BIN, UIServer, child_env, run_rag

TIMEOUT_S = 120


def test_watch_takes_only_folders(tmp_path):
    (tmp_path / "a.txt").write_text("Alpha.\n", encoding="utf-8")
    with pytest.raises(RagError, match=r"--watch takes folders: .*a\.txt is not one"):
        watched_folders([tmp_path, tmp_path / "a.txt"])
    done = run_rag("ingest", "--watch", str(tmp_path / "a.txt"), cwd=tmp_path)
    assert done.code == 1 and done.stderr.count("\n") == 1, done.stderr


def indexed(data_dir: Path, embeddings) -> set[str]:
    return {Path(s).name for s in open_store(Settings(data_dir=data_dir), embeddings).sources()}


class Lines:
    """A child's output, line by line, with a timeout."""

    def __init__(self, stream) -> None:
        self._lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=lambda: [self._lines.put(x) for x in stream], daemon=True).start()

    def until(self, text: str) -> str:
        while text not in (line := self._lines.get(timeout=TIMEOUT_S)):
            pass
        return line


@pytest.mark.slow
def test_ingest_watch_follows_a_new_a_changed_and_a_deleted_file(tmp_path, embeddings):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "alpha.txt").write_text("Alpha bridges cross the river.\n", encoding="utf-8")
    (folder / "beta.txt").write_text("Beta towers rise above the town.\n", encoding="utf-8")
    env = {"RAG_DATA_DIR": str(tmp_path / "index")}
    child = subprocess.Popen(
        [str(VENV_BIN / "rag"), "ingest", "--watch", str(folder)],
        cwd=tmp_path,
        env=child_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    out = Lines(child.stdout)
    try:
        assert "2 added" in out.until("Files:")
        out.until("Watching")
        (folder / "gamma.txt").write_text("Gamma rays are light.\n", encoding="utf-8")
        assert "1 added, 0 updated, 2 skipped" in out.until("Files:")
        (folder / "alpha.txt").write_text("Alpha bridges were rebuilt.\n", encoding="utf-8")
        assert "0 added, 1 updated" in out.until("Files:")
        (folder / "beta.txt").unlink()
        assert "1 deleted" in out.until("Files:")
    finally:
        child.send_signal(signal.SIGINT)  # the way a user stops it
        code = child.wait(timeout=TIMEOUT_S)
    assert code == 0
    assert indexed(tmp_path / "index", embeddings) == {"alpha.txt", "gamma.txt"}


@pytest.mark.slow
def test_the_ui_watches_beside_the_chat(tmp_path, model_file, embeddings):
    folder = tmp_path / "docs"
    folder.mkdir()
    server = UIServer(
        tmp_path / "index", {"RAG_LLM__MODEL_FILE": str(model_file)}, "--watch", str(folder)
    )
    try:
        (folder / "kiwi.txt").write_text("Kiwis are flightless birds.\n", encoding="utf-8")
        for _ in range(TIMEOUT_S * 4):
            if any("watched folders: 1 added" in line for line in server.output):
                break
            time.sleep(0.25)
        assert any("watched folders: 1 added" in line for line in server.output), server.output
    finally:
        server.stop()
    assert indexed(tmp_path / "index", embeddings) == {"kiwi.txt"}
