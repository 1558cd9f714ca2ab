"""Properties that must hold for any input, checked by hypothesis: the splitter never
loses or misplaces text, and the citation parser never invents or drops a marker."""

import re
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.citations import MARKER, parse_answer, render
from rag.documents import DocumentError, SourceText, load_source, read_chunks, split
from rag.settings import ChunkingSettings

WORDS = st.sampled_from(
    ["bridge", "the", "1932", "Meta's", "naïve", "東京", "🙂", "AI", "a", "opened", "ok"]
)
GAPS = st.sampled_from([" ", " ", "  ", "\n", "\n\n", "\t", ". ", "! ", ", ", "; ", ".\n\n"])
TEXT = st.lists(st.tuples(WORDS, GAPS), min_size=1, max_size=300).map(
    lambda pairs: "".join(w + g for w, g in pairs)
)
# What a text file can hold: no NUL (binary), no surrogates, no leading byte order mark.
FILE_TEXT = st.text(
    st.characters(exclude_categories=("Cs",), exclude_characters="\x00\ufeff"),
    min_size=1,
    max_size=3000,
)
CHUNKING = st.integers(50, 400).flatmap(
    lambda size: st.builds(ChunkingSettings, size=st.just(size), overlap=st.integers(0, size // 2))
)


def assert_exact_and_complete(text: str, chunks: list) -> None:
    covered = [False] * len(text)
    previous_start = -1
    for chunk in chunks:
        start, end = chunk.metadata["start"], chunk.metadata["end"]
        assert text[start:end] == chunk.page_content  # offsets map back
        assert start > previous_start  # in document order
        previous_start = start
        covered[start:end] = [True] * (end - start)
    lost = [i for i, seen in enumerate(covered) if not seen and not text[i].isspace()]
    assert not lost, f"characters in no chunk at {lost[:10]}"


@settings(max_examples=200, deadline=None)
@given(text=TEXT | st.text(min_size=1, max_size=3000), chunking=CHUNKING)
def test_chunks_map_back_and_cover_every_character(text, chunking):
    source = SourceText(source="/d/x.txt", name="x.txt", title="X", text=text)
    chunks = split(source, chunking)
    assert_exact_and_complete(text, chunks)


ANSWER_PART = st.one_of(
    WORDS,
    GAPS,
    st.integers(0, 12).map(lambda n: f"[{n}]"),
    st.lists(st.integers(0, 12), min_size=2, max_size=3).map(
        lambda ns: "[" + ", ".join(map(str, ns)) + "]"
    ),
    st.sampled_from(["[Passage 2]", "[", "]", "[x]", "[]", "[1,]"]),
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(ANSWER_PART, max_size=40), passages=st.integers(0, 6))
def test_every_marker_is_kept_in_range_or_reported(parts, passages):
    answer = "".join(parts)
    parsed = parse_answer(answer, passages)
    written = [
        int(n) for match in MARKER.finditer(answer) for n in re.findall(r"\d+", match.group(1))
    ]
    kept = [n for s in parsed.sentences for n in s.cited]
    assert all(1 <= n <= passages for n in kept)
    assert sorted(set(kept) | set(parsed.out_of_range)) == sorted(set(written))
    assert sorted(parsed.out_of_range) == sorted(n for n in written if not 1 <= n <= passages)
    assert not any(MARKER.search(s.text) for s in parsed.sentences)
    # Rendering and parsing again changes nothing: markers survive a round trip.
    again = parse_answer(render(parsed.sentences), passages)
    assert [n for s in again.sentences for n in s.cited] == kept


@settings(max_examples=100, deadline=None)
@given(text=TEXT | FILE_TEXT, chunking=CHUNKING, window=st.integers(1, 4000))
def test_streamed_chunks_map_back_and_cover_every_character(text, chunking, window):
    """Read in windows far smaller than a real file's, to cross many window edges."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "x.txt"
        path.write_text(text, encoding="utf-8")
        try:
            chunks = list(read_chunks(path, chunking, window=window))
        except DocumentError:
            assert not text.strip()  # only an empty file is refused
            return
        whole = split(load_source(path), chunking)
    if window >= len(text):
        assert [c.metadata for c in chunks] == [c.metadata for c in whole]
    assert_exact_and_complete(text, chunks)
