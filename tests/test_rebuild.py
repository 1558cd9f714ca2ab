"""`rag ingest --rebuild`: a new index beside the one in use, then an atomic switch.

Questions keep being answered from the old index until the switch, a kill -9 at any
point leaves a whole index (the old one or the new one), and a full disk leaves the old
one in use with the partial new one removed.
"""

import subprocess
import threading
import time
from pathlib import Path

import pytest

from rag.ingest import ingest
from rag.pipeline import Pipeline
from rag.store import active_name, generation_names, open_store

from conftest import VENV_BIN, child_env, run_rag

QUESTION = "Who keeps the lighthouse?"


@pytest.fixture
def folders(tmp_path: Path) -> tuple[Path, Path]:
    """The documents of the index in use, and those of the rebuild."""
    old, new = tmp_path / "old", tmp_path / "new"
    for folder, keeper in ((old, "Ada Quill"), (new, "Bo Strand")):
        folder.mkdir()
        (folder / "keeper.txt").write_text(
            f"The lighthouse keeper is called {keeper}.", encoding="utf-8"
        )
    return old, new


def _env(settings) -> dict[str, str]:
    return {"RAG_DATA_DIR": str(settings.data_dir)}


def test_rebuild_switches_while_questions_are_answered(tmp_path, folders, settings, embeddings):
    old, new = folders
    pipeline = Pipeline(settings, embeddings, open_store(settings, embeddings))
    ingest([old], pipeline.store, embeddings, settings, progress=False)
    retriever = pipeline.retriever()
    seen: list[str] = []
    errors: list[str] = []
    stop = threading.Event()

    def ask() -> None:
        while not stop.is_set():
            try:
                seen.append(retriever.invoke(QUESTION)[0].metadata["source"])
            except Exception as exc:  # any failed question fails the test
                errors.append(repr(exc))

    asking = threading.Thread(target=ask)
    asking.start()
    try:
        rebuilt = run_rag("ingest", "--rebuild", str(new), cwd=tmp_path, env=_env(settings))
        time.sleep(1)  # questions after the old index was dropped
    finally:
        stop.set()
        asking.join()

    assert rebuilt.code == 0, rebuilt.stderr
    assert "the one in use answers until it is done" in rebuilt.stderr
    assert "Switched to the new index" in rebuilt.stderr
    assert errors == []
    old_file, new_file = str(old / "keeper.txt"), str(new / "keeper.txt")
    assert seen[0] == old_file and new_file in seen
    assert set(seen[seen.index(new_file) :]) == {new_file}  # once switched, never back
    # The old generation is gone: its vectors, keywords and records.
    assert generation_names(settings) == {active_name(settings)} == {"documents.1"}
    assert pipeline.store.sources() == {new_file: 1}


@pytest.mark.parametrize(
    ("killed_after", "survivor"),
    [
        ("rag.store:KeywordedChroma.add_texts", "old"),  # the new index half written
        ("rag.store:DocumentStore.switch_to", "new"),  # switched, the old not yet dropped
    ],
)
def test_a_kill_9_during_a_rebuild_leaves_a_whole_index(
    tmp_path, folders, settings, embeddings, killed_after, survivor
):
    old, new = folders
    store = open_store(settings, embeddings)
    ingest([old], store, embeddings, settings, progress=False)
    flag = tmp_path / "stalled"
    env = _env(settings) | {"TEST_STALL_AFTER": killed_after, "TEST_STALL_FLAG": str(flag)}
    rebuilding = subprocess.Popen(
        [str(VENV_BIN / "rag"), "ingest", "--rebuild", str(new)],
        cwd=tmp_path,
        env=child_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not flag.exists():
            assert rebuilding.poll() is None, "the rebuild ended before the kill point"
            assert time.monotonic() < deadline
            time.sleep(0.1)
    finally:
        rebuilding.kill()  # SIGKILL
        rebuilding.wait()

    assert len(generation_names(settings)) == 2  # the killed one left both behind
    expected = str((old if survivor == "old" else new) / "keeper.txt")
    assert list(open_store(settings, embeddings).sources()) == [expected]  # opened anew
    assert list(store.sources()) == [expected]  # and the one open, which followed
    # The next ingest drops what the killed one left.
    again = ingest([old if survivor == "old" else new], store, embeddings, settings)
    assert not again.failed
    assert generation_names(settings) == {active_name(settings)}
    retriever = Pipeline(settings, embeddings, store).retriever()
    assert retriever.invoke(QUESTION)[0].metadata["source"] == expected


@pytest.fixture
def small_disk(tmp_path: Path):
    """A 16 MB file system (tmpfs) that a test can fill."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], check=False)


def test_a_full_disk_during_a_rebuild_keeps_the_old_index(
    tmp_path, folders, small_disk, embeddings
):
    from rag.settings import Settings

    old, new = folders
    settings = Settings(data_dir=small_disk / "index")
    pipeline = Pipeline(settings, embeddings, open_store(settings, embeddings))
    ingest([old], pipeline.store, embeddings, settings, progress=False)
    for n in range(200):  # more chunks than the space left holds
        (new / f"log-{n:03d}.txt").write_text(f"Entry {n}: " + "the beam turned. " * 30)
    with open(small_disk / "filler", "wb") as file:
        file.write(b"\0" * (_free_bytes(small_disk) - 200_000))

    env = _env(settings) | {"RAG_STORE__INDEX_BATCH_SIZE": "16"}
    rebuilt = run_rag("ingest", "--rebuild", str(new), cwd=tmp_path, env=env)

    assert rebuilt.code == 1
    errors = [line for line in rebuilt.stderr.splitlines() if line.startswith("rag: error")]
    assert len(errors) == 1 and "the index in use is unchanged" in errors[0], rebuilt.stderr
    assert "disk is full" in errors[0] or "segment" in errors[0]
    assert "Traceback" not in rebuilt.stderr
    assert generation_names(settings) == {"documents"}  # the partial new one removed
    # The disk still full, the chat that was running answers from the old index.
    top = pipeline.retriever().invoke(QUESTION)[0]
    assert top.metadata["source"] == str(old / "keeper.txt")


def _free_bytes(path: Path) -> int:
    import os

    stat = os.statvfs(path)
    return stat.f_bavail * stat.f_frsize
