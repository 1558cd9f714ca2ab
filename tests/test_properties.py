"""Properties that must hold for any input, checked by hypothesis: the splitter never
loses or misplaces text, and the citation parser never invents or drops a marker."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.citations import MARKER, parse_answer, render
from rag.documents import SourceText, make_splitter, split
from rag.settings import ChunkingSettings

WORDS = st.sampled_from(
    ["bridge", "the", "1932", "Meta's", "naïve", "東京", "🙂", "AI", "a", "opened", "ok"]
)
GAPS = st.sampled_from([" ", " ", "  ", "\n", "\n\n", "\t", ". ", "! ", ", ", "; ", ".\n\n"])
TEXT = st.lists(st.tuples(WORDS, GAPS), min_size=1, max_size=300).map(
    lambda pairs: "".join(w + g for w, g in pairs)
)
CHUNKING = st.integers(50, 400).flatmap(
    lambda size: st.builds(ChunkingSettings, size=st.just(size), overlap=st.integers(0, size // 2))
)


@settings(max_examples=200, deadline=None)
@given(text=TEXT | st.text(min_size=1, max_size=3000), chunking=CHUNKING)
def test_chunks_map_back_and_cover_every_character(text, chunking):
    source = SourceText(source="/d/x.txt", name="x.txt", title="X", text=text)
    chunks = split(source, make_splitter(chunking))
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
