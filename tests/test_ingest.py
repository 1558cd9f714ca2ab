import shutil
import subprocess
import sys
from itertools import pairwise
from pathlib import Path

import pytest

from rag import documents
from rag.embeddings import SentenceTransformerEmbeddings
from rag.errors import RagError
from rag.ingest import ingest
from rag.settings import Settings
from rag.store import DocumentStore, open_store

from conftest import ARTICLE

PARAGRAPHS = {
    "alpha.txt": "Alpacas hum when they are content. They live in herds in the Andes.\n\n"
    "Their fleece is soft and warm, and it has no lanolin.",
    "beta.md": "# Beetles\n\nBeetles make up a quarter of all known animal species.\n\n"
    "Ladybirds are beetles that eat aphids.",
    "gamma.txt": "Glaciers move slowly downhill under their own weight.",
}


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in PARAGRAPHS.items():
        (docs / name).write_text(text, encoding="utf-8")
    shutil.copy(ARTICLE, docs / ARTICLE.name)
    return docs


class EmbedSpy:
    """Counts calls that reach the model, independent of the product's own counter."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, embeddings: SentenceTransformerEmbeddings):
        self.calls = 0
        self.texts = 0
        real = embeddings.embed_documents

        def spy(texts: list[str]) -> list[list[float]]:
            self.calls += 1
            self.texts += len(texts)
            return real(texts)

        monkeypatch.setattr(embeddings, "embed_documents", spy)


def snapshot(store: DocumentStore) -> tuple[dict[str, int], list[str]]:
    ids = sorted(store.vectors.get(include=[])["ids"])
    assert store.chunk_count() == len(ids) == sum(store.sources().values())
    assert sorted(store.records.list_keys()) == ids, "records and vectors disagree"
    return store.sources(), ids


def test_first_ingest_embeds_every_chunk_once(folder, store, embeddings, settings, monkeypatch):
    spy = EmbedSpy(monkeypatch, embeddings)
    report = ingest([folder], store, embeddings, settings)
    sources, ids = snapshot(store)
    assert len(report.new) == 4 and not report.failed
    assert report.chunks_added == len(ids) == spy.texts == report.chunks_embedded
    assert sources[str((folder / "gamma.txt").resolve())] == 1


def test_second_ingest_embeds_nothing(folder, store, embeddings, settings, monkeypatch):
    ingest([folder], store, embeddings, settings)
    before = snapshot(store)
    spy = EmbedSpy(monkeypatch, embeddings)
    report = ingest([folder], store, embeddings, settings)
    assert spy.calls == 0
    assert report.chunks_embedded == 0 and report.chunks_added == 0
    assert len(report.unchanged) == 4 and report.chunks_skipped == len(before[1])
    assert snapshot(store) == before


def test_unchanged_ingest_never_loads_the_model(folder, store, embeddings, settings):
    ingest([folder], store, embeddings, settings)
    cold = SentenceTransformerEmbeddings.from_settings(settings.embeddings)
    report = ingest([folder], open_store(settings, cold), cold, settings)
    assert cold._model is None
    assert len(report.unchanged) == 4


def test_changed_file_replaces_its_chunks(folder, store, embeddings, settings, monkeypatch):
    ingest([folder], store, embeddings, settings)
    _, ids_before = snapshot(store)
    alpha = folder / "alpha.txt"
    alpha.write_text("Alpacas spit when annoyed.\n\nThey are shorn once a year.", encoding="utf-8")
    spy = EmbedSpy(monkeypatch, embeddings)
    report = ingest([folder], store, embeddings, settings)
    assert report.updated == [str(alpha.resolve())]
    assert len(report.unchanged) == 3
    assert spy.texts == report.chunks_added >= 1
    assert report.chunks_deleted >= 1
    texts = store.vectors.get(where={"source": str(alpha.resolve())})["documents"]
    assert texts and all("hum" not in t for t in texts) and any("spit" in t for t in texts)
    _, ids_after = snapshot(store)
    assert len(ids_after) == len(ids_before) - report.chunks_deleted + report.chunks_added


def test_removed_file_loses_its_chunks(folder, store, embeddings, settings):
    ingest([folder], store, embeddings, settings)
    (folder / "beta.md").unlink()
    report = ingest([folder], store, embeddings, settings)
    assert report.removed == [str((folder / "beta.md").resolve())]
    assert report.chunks_deleted >= 1
    sources, _ = snapshot(store)
    assert str((folder / "beta.md").resolve()) not in sources and len(sources) == 3


def test_ingesting_one_file_leaves_other_documents_alone(folder, store, embeddings, settings):
    ingest([folder], store, embeddings, settings)
    before = snapshot(store)
    report = ingest([folder / "gamma.txt"], store, embeddings, settings)
    assert report.unchanged == [str((folder / "gamma.txt").resolve())] and not report.removed
    assert snapshot(store) == before


def test_folder_with_bad_files_ingests_the_good_ones(folder, store, embeddings, settings):
    (folder / "empty.txt").write_bytes(b"")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02garbage")
    (folder / "latin1.md").write_bytes("na\u00efve".encode("latin-1"))
    (folder / "photo.heic").write_bytes(b"\x00\x00\x00\x18ftypheic")
    (folder / ".hidden.txt").write_text("secret")
    report = ingest([folder], store, embeddings, settings)
    assert len(report.new) == 4
    failed = {Path(p.path).name: p.reason for p in report.failed}
    assert set(failed) == {"empty.txt", "binary.txt", "latin1.md"}
    assert [Path(p).name for p in report.ignored] == ["photo.heic"]
    sources, _ = snapshot(store)
    assert len(sources) == 4


def test_file_that_turns_bad_keeps_its_previous_chunks(folder, store, embeddings, settings):
    ingest([folder], store, embeddings, settings)
    before = snapshot(store)
    (folder / "gamma.txt").write_bytes(b"\xff\xfe broken")
    report = ingest([folder], store, embeddings, settings)
    assert [Path(p.path).name for p in report.failed] == ["gamma.txt"]
    assert snapshot(store) == before


@pytest.mark.parametrize(
    ("name", "content"),
    [("empty.txt", b""), ("binary.txt", b"\x00\x00"), ("bad.txt", b"\xc3\x28"), ("x.pdf", b"%")],
)
def test_single_bad_file_leaves_the_index_as_it_was(
    folder, store, embeddings, settings, tmp_path, name, content
):
    ingest([folder], store, embeddings, settings)
    before = snapshot(store)
    bad = tmp_path / name
    bad.write_bytes(content)
    report = ingest([bad], store, embeddings, settings)
    assert len(report.failed) == 1 and not report.new
    assert snapshot(store) == before


def test_missing_path_changes_nothing(folder, store, embeddings, settings):
    ingest([folder], store, embeddings, settings)
    before = snapshot(store)
    with pytest.raises(RagError, match="no such file or folder"):
        ingest([folder, folder / "nope"], store, embeddings, settings)
    assert snapshot(store) == before


@pytest.mark.slow
def test_edit_to_a_long_file_re_embeds_only_the_changed_chunks(tmp_path, embeddings, monkeypatch):
    """A file whose chunks span many index batches: editing its end must not re-embed
    the chunks before the edit (LangChain's "incremental" cleanup would)."""
    docs = tmp_path / "long"
    docs.mkdir()
    book = docs / "book.txt"
    sentences = [
        f"Entry {i} records that item {i * 7} was shelved in row {i % 13}." for i in range(300)
    ]
    book.write_text(" ".join(sentences), encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "index",
        chunking={"size": 200, "overlap": 0},
        store={"index_batch_size": 16},
    )
    store = open_store(settings, embeddings)
    first = ingest([docs], store, embeddings, settings, progress=False)
    assert first.chunks_added > 5 * settings.store.index_batch_size
    book.write_text(" ".join([*sentences[:-1], "The last entry was rewritten."]), encoding="utf-8")
    spy = EmbedSpy(monkeypatch, embeddings)
    second = ingest([docs], store, embeddings, settings, progress=False)
    assert second.updated == [str(book.resolve())]
    assert spy.texts == second.chunks_added <= 2
    assert second.chunks_deleted <= 2
    _, ids = snapshot(store)
    assert len(ids) == first.chunks_added - second.chunks_deleted + second.chunks_added


def test_a_file_longer_than_a_window_is_indexed_exactly(tmp_path, embeddings, monkeypatch):
    monkeypatch.setattr(documents, "WINDOW_CHARS", 3000)  # cross many window edges
    settings = Settings(data_dir=tmp_path / "index")
    store = open_store(settings, embeddings)
    text = "\n\n".join(
        f"Paragraph {n} about the harbour, the mill and the canal. " * (1 + n % 4)
        for n in range(120)
    )
    path = tmp_path / "long.txt"
    path.write_text(text, encoding="utf-8")
    report = ingest([path], store, embeddings, settings, progress=False)
    assert report.new == [str(path)] and report.chunks_added > 20
    stored = store.vectors.get(include=["documents", "metadatas"])
    spans = sorted((m["start"], m["end"]) for m in stored["metadatas"])
    for chunk, meta in zip(stored["documents"], stored["metadatas"], strict=True):
        assert text[meta["start"] : meta["end"]] == chunk
    assert spans[0][0] == 0 and spans[-1][1] == len(text.rstrip())
    assert all(not text[a[1] : b[0]].strip() for a, b in pairwise(spans))  # only blanks between
    again = ingest([path], store, embeddings, settings, progress=False)
    assert again.unchanged == [str(path)] and again.chunks_embedded == 0


@pytest.mark.slow
def test_a_100_mb_file_is_read_in_bounded_memory(tmp_path):
    """The pass that checks a file before indexing it, in a process of its own."""
    big = tmp_path / "big.txt"
    paragraph = "The harbour master logged {n} ferries past the lantern tower today. "
    with big.open("w", encoding="utf-8") as file:
        for n in range(1_400_000):
            file.write(paragraph.format(n=n) + ("\n\n" if n % 5 == 4 else ""))
    size_mb = big.stat().st_size / 1e6
    assert size_mb > 100
    script = (
        "import resource, sys\n"
        "from pathlib import Path\n"
        "from rag.ingest import _chunk_ids\n"
        "from rag.settings import Settings\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "ids = _chunk_ids(Path(sys.argv[1]), Settings())\n"
        "grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before\n"
        "print(len(ids), len(set(ids)), grown // 1024)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(big)], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    chunks, unique, grown_mb = map(int, done.stdout.split())
    assert chunks == unique > 150_000
    # Whole-file splitting grew by about 5x the file; streaming, by the ids alone.
    assert grown_mb < size_mb * 0.6, f"{grown_mb} MB for a {size_mb:.0f} MB file"
