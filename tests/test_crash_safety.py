"""Interruptions and damage: a killed ingest, a damaged index, ingest during questions,
two ingests at once."""

import random
import signal
import sqlite3
import subprocess
import threading
import time
from pathlib import Path

import pytest

from rag.documents import load_source, split
from rag.errors import RagError
from rag.ingest import IngestReport, ingest, one_writer
from rag.pipeline import Pipeline
from rag.settings import Settings
from rag.store import chunk_id, open_store, remove_index

from conftest import ARTICLE, CORPUS, VENV_BIN, child_env, run_rag

WORDS = (
    "river bridge council archive harbour lantern orchard meadow quarry tower signal "
    "ferry market garden engine library tunnel beacon granary mill canal chapel"
).split()


def make_folder(root: Path, files: int, paragraphs: int = 3) -> Path:
    """Distinct, reproducible documents of a few chunks each."""
    rng = random.Random(7)
    root.mkdir(parents=True)
    for n in range(files):
        text = "\n\n".join(
            " ".join(rng.choice(WORDS) for _ in range(90)).capitalize() + f" (note {n}.{p})."
            for p in range(paragraphs)
        )
        (root / f"doc{n:04d}.txt").write_text(text + "\n", encoding="utf-8")
    return root


def expected_ids(folder: Path, settings: Settings) -> set[str]:
    return {
        chunk_id(chunk)
        for path in sorted(folder.iterdir())
        for chunk in split(load_source(path), settings.chunking)
    }


def index_state(settings: Settings) -> tuple[set[str], set[str]]:
    """(ids in Chroma, keys in the record manager)."""
    pipeline = Pipeline.from_settings(settings)
    vectors = set(pipeline.store.vectors.get(include=[])["ids"])
    records = set(pipeline.store.records.list_keys())
    return vectors, records


def records_written(db: Path) -> int:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as con:
            return con.execute("select count(*) from upsertion_record").fetchone()[0]
    except sqlite3.Error:
        return 0


@pytest.mark.slow
def test_an_ingest_killed_halfway_completes_on_the_next_run(tmp_path):
    # Batches of 64 (not 256): killed after the first, with a third of the files to embed.
    folder = make_folder(tmp_path / "docs", files=60)
    settings = Settings(data_dir=tmp_path / "index", store={"index_batch_size": 64})
    wanted = expected_ids(folder, settings)
    env = {"RAG_DATA_DIR": str(settings.data_dir), "RAG_STORE__INDEX_BATCH_SIZE": "64"}
    child = subprocess.Popen(
        [str(VENV_BIN / "rag"), "ingest", str(folder)],
        cwd=tmp_path,
        env=child_env(**env),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while (written := records_written(settings.records_db)) < settings.store.index_batch_size:
        assert child.poll() is None, "the ingest ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert written < len(wanted), "killed too late to test anything"

    vectors, records = index_state(settings)
    assert records <= vectors  # vectors are written before their records

    again = run_rag("ingest", str(folder), cwd=tmp_path, env=env)
    assert again.code == 0, again.stderr
    vectors, records = index_state(settings)
    assert vectors == records == wanted  # complete, no duplicates, no orphans


def test_ingest_while_questions_are_asked_keeps_the_index_consistent(tmp_path, embeddings):
    folder = make_folder(tmp_path / "docs", files=40)
    settings = Settings(data_dir=tmp_path / "index")
    pipeline = Pipeline(settings, embeddings, Pipeline.from_settings(settings).store)
    errors: list[BaseException] = []
    done = threading.Event()

    def ask_repeatedly() -> None:
        while not done.is_set():
            try:
                pipeline.retriever(3).invoke("Which bridge crosses the river by the mill?")
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

    askers = [threading.Thread(target=ask_repeatedly) for _ in range(3)]
    for thread in askers:
        thread.start()
    staged = sorted(folder.iterdir())
    folder_files = folder / "indexed"
    folder_files.mkdir()
    try:  # add ten files, change one, delete one, ingest: four times over
        for step in range(4):
            for path in staged[step * 10 : (step + 1) * 10]:
                path.rename(folder_files / path.name)
            present = sorted(folder_files.iterdir())
            present[0].write_text(f"Changed in step {step}: the mill bridge.\n", encoding="utf-8")
            present[-1].unlink()
            ingest([folder_files], pipeline.store, embeddings, settings, progress=False)
    finally:
        done.set()
        for thread in askers:
            thread.join()
    assert errors == []
    vectors, records = index_state(settings)
    assert vectors == records == expected_ids(folder_files, settings)
    assert len(pipeline.store.sources()) == 40 - 4


def damage(path: Path) -> None:
    path.write_bytes(random.Random(1).randbytes(path.stat().st_size))


@pytest.mark.slow
def test_a_damaged_index_says_so_and_rebuilds(tmp_path):
    env = {"RAG_DATA_DIR": str(tmp_path / "index")}
    uploaded = tmp_path / "index" / "uploads" / "kiwi.txt"
    uploaded.parent.mkdir(parents=True)
    uploaded.write_text("Kiwis are flightless birds of New Zealand.\n", encoding="utf-8")
    assert run_rag("ingest", str(CORPUS), str(uploaded.parent), cwd=tmp_path, env=env).code == 0
    damage(tmp_path / "index" / "chroma" / "chroma.sqlite3")

    for command in (["search", "spokesperson"], ["ingest", str(CORPUS)]):
        broken = run_rag(*command, cwd=tmp_path, env=env)
        assert broken.code == 1
        assert broken.stderr.count("\n") == 1, broken.stderr  # one line
        assert "is damaged" in broken.stderr and "rag ingest --rebuild" in broken.stderr

    rebuilt = run_rag("ingest", "--rebuild", str(CORPUS), cwd=tmp_path, env=env)
    assert rebuilt.code == 0, rebuilt.stderr
    listed = run_rag("documents", cwd=tmp_path, env=env).stdout
    assert ARTICLE.name in listed and "kiwi.txt" in listed  # uploads come back too
    assert uploaded.exists()


def test_damaged_records_get_the_same_message(tmp_path, embeddings):
    settings = Settings(data_dir=tmp_path / "index")
    ingest([ARTICLE], open_store(settings, embeddings), embeddings, settings, progress=False)
    damage(settings.records_db)
    with pytest.raises(RagError, match=r"is damaged \(.*\); rebuild it") as raised:
        open_store(settings, embeddings)
    assert "\n" not in str(raised.value)
    remove_index(settings)
    assert open_store(settings, embeddings).sources() == {}


def test_a_second_ingest_waits_for_the_first(tmp_path, embeddings, capsys):
    folder = make_folder(tmp_path / "docs", files=2)
    settings = Settings(data_dir=tmp_path / "index")
    store = open_store(settings, embeddings)
    reports: list[IngestReport] = []
    second = threading.Thread(
        target=lambda: reports.append(ingest([folder], store, embeddings, settings, progress=False))
    )
    with one_writer(settings.data_dir):  # the first ingest (another process, in real use)
        second.start()
        time.sleep(1.0)
        assert second.is_alive() and store.sources() == {}
        assert "another ingest is writing the index" in capsys.readouterr().err
    second.join(timeout=120)
    assert [len(r.new) for r in reports] == [2]
