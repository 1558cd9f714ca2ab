"""Sections from headings: the contextual header a chunk is embedded under, and the
section a small retrieved chunk is widened to (small-to-big)."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from rag.documents import document_text, read_chunks
from rag.ingest import ingest
from rag.manifest import IndexMismatch
from rag.retrieval import HybridRetriever, Passage
from rag.sections import Headings, header, window
from rag.settings import ChunkingSettings, RetrievalSettings, Settings
from rag.store import open_store

WATERING = " ".join(
    f"Water the {plant} every {days} days in summer and half as often in winter."
    for plant, days in [("roses", 3), ("ferns", 2), ("cacti", 20), ("tomatoes", 1)] * 3
)
PRUNING = " ".join(
    f"Cut the {plant} back by a third after it flowers, above an outward bud."
    for plant in ["roses", "lavender", "hydrangeas", "wisteria"] * 3
)
MANUAL = (
    f"# Garden manual\n\nHow to keep a garden.\n\n## Watering\n\n{WATERING}\n\n"
    f"## Pruning\n\n{PRUNING}\n"
)
SMALL = ChunkingSettings(size=200, overlap=0, header=True)


@pytest.fixture
def manual(tmp_path: Path) -> Path:
    path = tmp_path / "garden.md"
    path.write_text(MANUAL, encoding="utf-8")
    return path


def test_headings_of_markdown_html_and_docx_text_but_not_plain_text():
    text = "# Title\n\nintro\n\n  ## Options ##\n\nbody\n#not a heading\n"
    found = Headings.of(text, ".html")
    assert found.titles == ["Title", "Options"]
    assert found.starts == [0, text.index("  ## Options")]
    assert Headings.of(text, ".md") == found == Headings.of(text, ".docx")
    assert Headings.of(text, ".txt").titles == [] == Headings.of(text, ".pdf").titles
    assert found.title_at(0) == "Title" and found.title_at(text.index("body")) == "Options"
    assert Headings.of("no heading\n\nyet", ".md").title_at(5) is None


def test_a_section_runs_heading_to_heading_and_keeps_a_span_across_one():
    text = MANUAL
    found = Headings.of(text, ".md")
    water, prune = text.index("## Watering"), text.index("## Pruning")
    inside = text.index("ferns")
    assert found.bounds(inside, inside + 5, len(text)) == (water, prune)
    assert found.bounds(prune + 20, prune + 30, len(text)) == (prune, len(text))
    assert found.bounds(prune - 10, prune + 10, len(text)) == (water, len(text))
    assert Headings([], []).bounds(5, 9, len(text)) == (0, len(text))


def test_a_window_holds_the_hit_stays_in_its_section_and_cuts_at_words():
    text = MANUAL
    section = Headings.of(text, ".md").bounds(text.index("cacti"), text.index("cacti") + 5, 999)
    hit = (text.index("cacti"), text.index("cacti") + 40)
    start, end = window(text, section, hit, 150)
    assert start <= hit[0] and end >= hit[1] and end - start <= 150
    assert section[0] <= start and end <= section[1]
    assert text[start - 1].isspace() and not text[start].isspace() and not text[end - 1].isspace()
    whole = window(text, section, hit, 10_000)
    assert text[slice(*whole)] == f"## Watering\n\n{WATERING}"
    long_hit = (text.index("ferns"), text.index("## Pruning") - 2)
    assert window(text, section, long_hit, 20) == long_hit


def test_header_names_the_title_and_the_section_once():
    assert header("Git stash", "OPTIONS") == "Git stash: OPTIONS"
    assert header("Garden manual", "garden manual") == "Garden manual"
    assert header("Notes", None) == "Notes" and header(None, "Options") == "Options"
    assert header(None, None) is None


def test_chunks_carry_their_header_also_when_read_a_window_at_a_time(manual: Path):
    headings = Headings.of(MANUAL, ".md", "Garden manual")
    for window_chars in (None, 500):
        chunks = list(read_chunks(manual, SMALL, window=window_chars))
        assert len({c.metadata["start"] for c in chunks}) > 5
        for chunk in chunks:
            section = headings.title_at(chunk.metadata["start"])
            assert chunk.metadata["header"] == header("Garden manual", section)
            assert chunk.metadata["header"] == headings.header_at(chunk.metadata["start"])
    headers = {c.metadata["header"] for c in chunks}
    assert headers == {"Garden manual", "Garden manual: Watering", "Garden manual: Pruning"}
    plain = next(read_chunks(manual, SMALL.model_copy(update={"header": False})))
    assert "header" not in plain.metadata


def test_a_title_made_up_from_the_file_name_is_no_header(tmp_path: Path):
    """On HaluEval's passages ("halueval-0001.txt") such headers cost 8 of 300 at hit@1."""
    notes = tmp_path / "meeting-notes.txt"
    notes.write_text("# Not a heading in plain text\n\nWe met on Monday.", encoding="utf-8")
    assert all("header" not in c.metadata for c in read_chunks(notes, SMALL))
    assert next(read_chunks(notes, SMALL)).metadata["title"] == "Meeting notes"


def test_a_header_is_searched_but_never_shown(manual: Path, tmp_path: Path, embeddings):
    settings = Settings(data_dir=tmp_path / "index", chunking=SMALL)
    store = open_store(settings, embeddings)
    ingest([manual], store, embeddings, settings, progress=False)
    # "Pruning" is in one heading only; the chunks under it never say the word.
    found = HybridRetriever(store=store, k=3, mode="bm25").invoke("pruning")
    assert len(found) == 3 and all("Pruning" in d.metadata["header"] for d in found)
    assert sum("runing" not in d.page_content for d in found) >= 2
    text = document_text(manual)
    for doc in found:
        assert text[doc.metadata["start"] : doc.metadata["end"]] == doc.page_content
    # Opening the same index without headers is refused: its vectors include them.
    plain = settings.model_copy(update={"chunking": SMALL.model_copy(update={"header": False})})
    with pytest.raises(IndexMismatch, match="chunk header True -> False"):
        open_store(plain, embeddings)


def test_small_to_big_passes_the_section_around_a_small_chunk(
    manual: Path, tmp_path: Path, embeddings
):
    settings = Settings(data_dir=tmp_path / "index", chunking=SMALL)
    store = open_store(settings, embeddings)
    ingest([manual], store, embeddings, settings, progress=False)
    question = "How often should cacti be watered?"
    small = HybridRetriever(store=store, k=1).invoke(question)[0]
    big = HybridRetriever(store=store, k=1, section_chars=5_000).invoke(question)[0]
    assert big.id == small.id and small.page_content in big.page_content
    passage = Passage.from_document(big)
    assert passage.text == f"## Watering\n\n{WATERING}"
    assert document_text(manual)[passage.start : passage.end] == passage.text
    capped = HybridRetriever(store=store, k=1, section_chars=300).invoke(question)[0]
    assert small.page_content in capped.page_content and len(capped.page_content) <= 300


def test_neighbours_and_sections_are_one_choice():
    with pytest.raises(ValidationError, match="neighbours or section_chars"):
        RetrievalSettings(neighbours=1, section_chars=1000)
