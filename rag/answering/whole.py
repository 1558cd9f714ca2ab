"""Whole documents from the index, as numbered sentences with exact offsets, and the
sections a long one is read in.

The chunks of a document overlap; `number_sentences` merges them back into the
document's text, so each sentence is numbered once and cites its exact span.
"""

import re
from collections.abc import Iterator, Sequence
from pathlib import Path

from langchain_core.documents import Document

from rag.answering.sentences import NumberedSentence, number_sentences
from rag.errors import RagError
from rag.retrieval import Passage
from rag.store import DocumentStore

_FETCH_PAGE = 1000  # chunks per call to the store (a Chroma server caps a response's size)


def resolve_documents(store: DocumentStore, names: Sequence[str]) -> list[str]:
    """The indexed sources that `names` mean: a full path or a file name each. A name
    matching nothing is an error that lists what is indexed."""
    sources = sorted(store.sources())
    chosen: list[str] = []
    for name in names:
        wanted = name.strip()
        matches = [s for s in sources if wanted in (s, Path(s).name)]
        if not matches:
            raise RagError(f"no indexed document is named '{wanted}' ({available(sources)})")
        chosen += [s for s in matches if s not in chosen]
    return chosen


_FILE_NAME = re.compile(r"[\w.-]+\.(?:txt|md|markdown|rst|pdf|html?|docx)\b", re.IGNORECASE)


def named_documents(store: DocumentStore, question: str) -> list[str]:
    """The documents a question names by file name ("Summarize report.pdf"); a file
    name that is not indexed is an error that lists what is."""
    return resolve_documents(store, _FILE_NAME.findall(question))


def available(sources: Sequence[str], shown: int = 8) -> str:
    if not sources:
        return "the index is empty: run `rag ingest` first"
    names = [Path(s).name for s in sources[:shown]]
    more = f" and {len(sources) - shown:,} more" if len(sources) > shown else ""
    return "indexed: " + ", ".join(names) + more


def document_passages(store: DocumentStore, source: str) -> Iterator[Passage]:
    """Every chunk of one document, a page of the store at a time (each page in text
    order; `whole_text` orders them all)."""
    offset = 0
    while True:
        got = store.vectors.get(
            where={"source": source},
            include=["documents", "metadatas"],
            limit=_FETCH_PAGE,
            offset=offset,
        )
        if not got["ids"]:
            return
        chunks = [
            Passage.from_document(
                Document(id=i, page_content=text, metadata={**meta, "score": 1.0})
            )
            for i, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        ]
        yield from sorted(chunks, key=lambda p: p.start)
        offset += len(got["ids"])


def whole_text(
    store: DocumentStore, sources: Sequence[str]
) -> tuple[list[Passage], list[NumberedSentence]]:
    """The chunks of these documents and their sentences, numbered from 1 in order."""
    passages = sorted(
        (p for source in sources for p in document_passages(store, source)),
        key=lambda p: (sources.index(p.source), p.start),
    )
    return passages, number_sentences(passages)


def size(sentences: Sequence[NumberedSentence]) -> int:
    return sum(len(s.text) + 6 for s in sentences)  # with its "[n] " and line break


def sections(sentences: Sequence[NumberedSentence], budget: int) -> list[list[NumberedSentence]]:
    """Runs of consecutive sentences of at most `budget` characters each (a longer
    sentence alone), broken where a document ends."""
    parts: list[list[NumberedSentence]] = []
    used = 0
    for s in sentences:
        length = len(s.text) + 6
        if not parts or used + length > budget or s.source != parts[-1][-1].source:
            parts.append([])
            used = 0
        parts[-1].append(s)
        used += length
    return parts
