from pathlib import Path

import pytest

from rag.documents import DocumentError, load_source, split
from rag.settings import ChunkingSettings

from conftest import ARTICLE

MARKDOWN = """# Field notes

Intro paragraph with a few sentences. It goes on! Does it? Yes.

## Details

- a list item, with clauses; and more
- another item\r\nwith a CRLF line

""" + ("A long sentence that repeats to force many splits. " * 40)


def _assert_offsets(path: Path, size: int, overlap: int) -> int:
    source = load_source(path)
    chunks = split(source, ChunkingSettings(size=size, overlap=overlap))
    assert chunks
    for index, chunk in enumerate(chunks):
        meta = chunk.metadata
        assert source.text[meta["start"] : meta["end"]] == chunk.page_content
        assert meta["chunk"] == index
        assert meta["source"] == str(path.resolve())
        assert len(chunk.page_content) <= size
    return len(chunks)


@pytest.mark.parametrize(("size", "overlap"), [(60, 0), (120, 30), (500, 75), (2000, 200)])
def test_every_chunk_maps_back_to_its_source(tmp_path: Path, size: int, overlap: int) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(MARKDOWN, encoding="utf-8")
    assert _assert_offsets(ARTICLE, size, overlap) >= 1
    assert _assert_offsets(notes, size, overlap) >= 1


def test_chunks_end_on_sentence_boundaries_when_they_can() -> None:
    chunks = split(load_source(ARTICLE), ChunkingSettings(size=300, overlap=0))
    assert len(chunks) > 5
    endings = [c.page_content[-1] for c in chunks]
    assert all(e in ".!?:\u201d\"'" for e in endings), endings


def test_titles_come_from_markdown_headings_or_file_names(tmp_path: Path) -> None:
    notes = tmp_path / "notes.md"
    notes.write_text(MARKDOWN, encoding="utf-8")
    assert load_source(notes).title == "Field notes"
    assert load_source(ARTICLE).title == "Meta behemoth open source"


def test_byte_order_mark_is_not_part_of_the_text(tmp_path: Path) -> None:
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbfHello there.")
    assert load_source(path).text == "Hello there."


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.txt", b"", "empty file"),
        ("blank.md", b"  \n\t\n", "empty file"),
        ("image.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary file"),
        ("latin1.txt", "Caf\u00e9 cr\u00e8me".encode("latin-1"), "not UTF-8 text (byte 0xe9"),
        ("sheet.ods", b"PK\x03\x04", "unsupported file type '.ods'"),
    ],
)
def test_bad_files_get_a_one_line_reason(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(DocumentError) as raised:
        load_source(path)
    assert message in str(raised.value)
    assert "\n" not in str(raised.value)
