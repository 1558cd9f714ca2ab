"""Retrieval: a question in, scored chunks out, as LangChain `Document`s.

Three modes share one retriever: `dense` (MiniLM vectors in Chroma), `bm25` (keywords,
BM25 in tantivy: `rag.keywords`) and `hybrid`, which fuses both rankings by
reciprocal rank fusion. Whatever the mode, each document's `score` is its cosine
similarity to the question, so the refusal thresholds mean the same thing in every
mode; `rank_dense`, `rank_bm25` and `rrf` in the metadata show how it was found.
"""

import re
import time
from pathlib import Path
from typing import Literal

import numpy as np
from chromadb.errors import InternalError
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores.utils import maximal_marginal_relevance
from pydantic import BaseModel, ConfigDict, Field

from rag.documents import cached_document_text, document_text_between
from rag.errors import RagError
from rag.sections import Headings, window
from rag.store import DocumentStore

RetrievalMode = Literal["dense", "bm25", "hybrid"]
SEGMENT_TRIES = 5  # over ~1.5 s: a first write's vector segment reaches the disk


# Terminal colour codes whole, then every control character but tab and newline.
_CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def clean_query(query: str, limit: int) -> str:
    """Reject queries no retriever can use, with a message that says why. Control
    characters go: pasted terminal escapes or a NUL would reach the model's tokenizer."""
    text = _CONTROL.sub(" ", query).strip()
    if not text:
        raise RagError("the question is empty")
    if len(text) > limit:
        raise RagError(
            f"the question is too long ({len(text):,} characters; the limit is {limit:,})"
        )
    return text


class HybridRetriever(BaseRetriever):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    store: DocumentStore
    k: int = 3
    mode: RetrievalMode = "hybrid"
    candidates: int = 20  # from each ranking, before fusion
    rrf_k: int = 60
    mmr_lambda: float | None = None  # set: pick the k from the fused pool by MMR
    min_score: float | None = None  # set: drop passages less similar than this
    neighbours: int = 0  # chunks on each side joined to a hit
    section_chars: int = 0  # set: a hit widened to its section, at most this long
    sources: tuple[str, ...] = ()  # set: only chunks of these documents (a scoped chat)

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        vectors = self.store.vectors
        question = np.array(vectors.embeddings.embed_query(query))
        n = self.k if self.mode == "dense" else max(self.candidates, self.k)
        dense: dict[str, Document] = {}
        if self.mode != "bm25":
            for doc, distance in self._nearest(question, n):
                doc.metadata = {**doc.metadata, "score": round(1.0 - distance, 6)}
                dense[doc.id or ""] = doc
        keywords = self.store.keywords
        keyword_ids = keywords.search(query, n, self.sources) if self.mode != "dense" else []
        found = {**dense, **self._fetch([i for i in keyword_ids if i not in dense], question)}
        # An ingest may delete chunks between the keyword search and this fetch.
        keyword_ids = [i for i in keyword_ids if i in found]

        fused: dict[str, float] = {}
        for name, ranking in (("rank_dense", list(dense)), ("rank_bm25", keyword_ids)):
            for rank, chunk_id in enumerate(ranking, start=1):
                found[chunk_id].metadata[name] = rank
                fused[chunk_id] = fused.get(chunk_id, 0.0) + 1.0 / (self.rrf_k + rank)
        ranked = sorted(fused, key=lambda i: -fused[i])
        if self.min_score is not None:
            ranked = [i for i in ranked if found[i].metadata["score"] >= self.min_score]
        best = self._diverse(ranked, question) if self.mmr_lambda is not None else ranked
        for chunk_id in best[: self.k]:
            found[chunk_id].metadata["rrf"] = round(fused[chunk_id], 6)
        return [self._widen(found[i]) for i in best[: self.k]]

    def _nearest(self, question: np.ndarray, n: int) -> list[tuple[Document, float]]:
        """Chroma's vector query, tried again while an ingest writes the collection's
        first vectors: until its segment is on disk the reader fails with "Nothing
        found on disk" (chroma-core/chroma#4212), a race and not a broken index."""
        scope = {"source": {"$in": list(self.sources)}} if self.sources else None
        query = self.store.vectors.similarity_search_by_vector_with_relevance_scores
        for attempt in range(SEGMENT_TRIES - 1):
            try:
                return query(question.tolist(), k=n, filter=scope)
            except InternalError as exc:
                if "segment reader" not in str(exc):
                    raise
                time.sleep(0.1 * 2**attempt)
        return query(question.tolist(), k=n, filter=scope)

    def _diverse(self, ranked: list[str], question: np.ndarray) -> list[str]:
        """Maximal marginal relevance over the fused pool: each pick trades its
        similarity to the question against its similarity to the picks before it."""
        if len(ranked) <= 1:
            return ranked
        got = self.store.vectors.get(ids=ranked, include=["embeddings"])
        vectors = dict(zip(got["ids"], got["embeddings"], strict=True))
        picks = maximal_marginal_relevance(
            question, [vectors[i] for i in ranked], lambda_mult=self.mmr_lambda or 0.0, k=self.k
        )
        return [ranked[i] for i in picks]

    def _widen(self, hit: Document) -> Document:
        """The passage shown for a hit: the hit itself, its section (`section_chars`) or
        the hit joined with its neighbours; its offsets still point at the document."""
        if self.section_chars:
            return self._section(hit)
        if not self.neighbours:
            return hit
        meta = hit.metadata
        lo, hi = meta["chunk"] - self.neighbours, meta["chunk"] + self.neighbours
        got = self.store.vectors.get(
            where={
                "$and": [
                    {"source": meta["source"]},
                    {"chunk": {"$gte": lo}},
                    {"chunk": {"$lte": hi}},
                ]
            },
            include=["documents", "metadatas"],
        )
        parts = sorted(
            zip(got["metadatas"], got["documents"], strict=True), key=lambda p: p[0]["start"]
        )
        if not parts:  # deleted by an ingest since it was found
            return hit
        start = end = parts[0][0]["start"]
        text = ""
        for part_meta, part in parts:
            if part_meta["start"] > end:  # only whitespace lies between chunks
                text += document_text_between(meta["source"], end, part_meta["start"])
            text += part[max(0, end - part_meta["start"]) :]
            end = max(end, part_meta["end"])
        return Document(
            id=hit.id,
            page_content=text,
            metadata={**meta, "start": start, "end": end, "neighbours": len(parts) - 1},
        )

    def _section(self, hit: Document) -> Document:
        """Small-to-big: the hit matched on its own, the section around it passed on."""
        meta = hit.metadata
        text = cached_document_text(meta["source"])
        if text is None or text[meta["start"] : meta["end"]] != hit.page_content:
            return hit  # the file is gone or changed since it was indexed
        headings = Headings.of(text, Path(meta["source"]).suffix)
        section = headings.bounds(meta["start"], meta["end"], len(text))
        start, end = window(text, section, (meta["start"], meta["end"]), self.section_chars)
        return Document(
            id=hit.id,
            page_content=text[start:end],
            metadata={**meta, "start": start, "end": end},
        )

    def _fetch(self, ids: list[str], question: np.ndarray) -> dict[str, Document]:
        """Chunks found by keywords only, scored by cosine like the dense ones."""
        if not ids:
            return {}
        got = self.store.vectors.get(ids=ids, include=["documents", "metadatas", "embeddings"])
        return {
            chunk_id: Document(
                id=chunk_id,
                page_content=text,
                metadata={**meta, "score": round(float(np.dot(vector, question)), 6)},
            )
            for chunk_id, text, meta, vector in zip(
                got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True
            )
        }


class Passage(BaseModel):
    """A retrieved chunk as front ends show it and JSON output carries it."""

    chunk_id: str
    source: str
    name: str
    title: str
    chunk: int
    start: int
    end: int
    score: float
    text: str
    page: int | None = None  # PDF or deck: the page or slide the chunk is on
    place: str | None = None  # how a citation names its part: "p. 3", "sheet Q3"
    # Where each part (page, slide, sheet) inside the passage starts: a passage joined
    # from chunks may span several, and a sentence in it is cited by its own.
    parts: list[tuple[int, str | None, int | None]] = Field(default_factory=list, exclude=True)

    def part_at(self, offset: int) -> tuple[str | None, int | None]:
        """(place, page) of the part holding the document's offset `offset`."""
        found = (self.place, self.page)
        for start, place, page in self.parts:
            if start <= offset:
                found = (place, page)
        return found

    @property
    def page_label(self) -> str:
        return place_label(self.place, self.page)

    @property
    def where(self) -> str:
        """How a citation names its place: "report.pdf, p. 3", "sales.xlsx, sheet Q3"
        or "notes.txt"."""
        return self.name + self.page_label

    @classmethod
    def from_document(cls, doc: Document) -> "Passage":
        meta = doc.metadata
        return cls(
            chunk_id=doc.id or "",
            source=meta["source"],
            name=meta["name"],
            title=meta["title"],
            chunk=meta["chunk"],
            start=meta["start"],
            end=meta["end"],
            score=meta.get("score", 0.0),
            text=doc.page_content,
            page=meta.get("page"),
            place=meta.get("place"),
            parts=[(meta["start"], meta.get("place"), meta.get("page"))],
        )


def place_label(place: str | None, page: int | None) -> str:
    """ ", p. 3", ", slide 2", ", sheet Q3", or nothing; indexes built before parts
    had names give only a page."""
    if place:
        return f", {place}"
    return f", p. {page}" if page else ""
