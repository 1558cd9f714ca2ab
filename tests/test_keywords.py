"""The keyword index in tantivy: updated per chunk by every ingest, never rebuilt."""

from rag.ingest import ingest
from rag.keywords import KeywordTable
from rag.store import open_store


def test_ingests_update_keywords_chunk_by_chunk(tmp_path, store, embeddings, settings):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "birds.txt").write_text("Kiwis are flightless birds.", encoding="utf-8")
    (docs / "boats.txt").write_text("The ferry leaves the pier at dawn.", encoding="utf-8")
    ingest([docs], store, embeddings, settings)
    keywords = store.keywords
    assert keywords.count() == store.chunk_count() == 2
    (kiwi,) = keywords.search("flightless kiwis", 5)

    # Changed: the old text's terms go, a term never seen before is found at once.
    (docs / "birds.txt").write_text("Penguins cannot fly; the zyzzyva can.", encoding="utf-8")
    ingest([docs], store, embeddings, settings)
    assert keywords.search("flightless kiwis", 5) == []
    (penguin,) = keywords.search("zyzzyva", 5)
    assert penguin != kiwi and keywords.count() == 2

    # Added, then deleted.
    (docs / "tides.txt").write_text("High tide reaches the pier at noon.", encoding="utf-8")
    ingest([docs], store, embeddings, settings)
    assert len(keywords.search("pier", 5)) == 2
    (docs / "boats.txt").unlink()
    ingest([docs], store, embeddings, settings)
    (tide,) = keywords.search("pier", 5)
    assert keywords.count() == store.chunk_count() == 2
    assert tide in store.vectors.get()["ids"]


def test_keywords_persist_for_the_next_process_and_scope_by_source(
    tmp_path, store, embeddings, settings
):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("Meta's spokesperson declined.", encoding="utf-8")
    (docs / "b.txt").write_text("Meta shipped it.", encoding="utf-8")
    ingest([docs], store, embeddings, settings)
    reopened = open_store(settings, embeddings)  # what a new process opens
    assert reopened.keywords is not store.keywords
    assert len(reopened.keywords.search("meta", 5)) == 2
    only_b = reopened.keywords.search("meta", 5, sources=[str(docs / "b.txt")])
    assert only_b == reopened.keywords.search("shipped", 5)
    assert reopened.keywords.search("the of and", 5) == []  # stopwords only: no terms


def test_bm25_ranks_rarer_and_denser_matches_first_and_keeps_ties_in_order(tmp_path):
    table = KeywordTable(tmp_path / "keywords", "test")
    table.add(
        ["open", "said", "meta", "kiwi", "again"],
        ["Meta open", "Meta spokesperson said", "Meta", "kiwi", "Meta open"],
        ["s"] * 5,
    )
    assert table.search("meta spokesperson", 10)[0] == "said"  # the rare term decides
    assert set(table.search("meta spokesperson", 10)) == {"open", "said", "meta", "again"}
    assert table.search("meta open", 10)[:2] == ["open", "again"]  # tied: indexed order
    table.add(["open"], ["kiwi"], ["s"])  # re-added under the same id: replaced
    assert table.search("kiwi", 10) == ["kiwi", "open"] and table.count() == 5
    assert table.search('quote" OR "x', 10) == []  # the query is never query syntax


def test_a_change_by_another_process_is_found_at_once(tmp_path):
    """A server's open table sees what a `rag ingest` beside it committed."""
    import subprocess
    import sys

    serving = KeywordTable(tmp_path / "keywords", "test")
    serving.add(["a"], ["the ferry leaves at dawn"], ["s"])
    script = (
        "import sys; from pathlib import Path; from rag.keywords import KeywordTable; "
        "KeywordTable(Path(sys.argv[1]), 'test').add(['b'], ['a zyzzyva at dusk'], ['s'])"
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path / "keywords")], check=True)
    assert serving.search("zyzzyva", 5) == ["b"] and serving.count() == 2


def test_a_rebuild_removes_the_keyword_file_of_versions_before_tantivy(store, settings):
    from rag.store import drop_leftovers

    legacy = settings.data_dir / "keywords.sqlite"
    legacy.write_bytes(b"SQLite format 3\0")
    drop_leftovers(settings)  # what `rag ingest --rebuild` does first
    assert not legacy.exists() and store.keywords.count() == 0
