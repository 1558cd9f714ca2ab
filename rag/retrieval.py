"""Retrievers: a question in, scored chunks out, as LangChain `Document`s.

Scores are cosine similarities (1 = same direction), written into each document's
metadata as `score` so every consumer sees the same number.
"""

from langchain_chroma import Chroma
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import BaseModel, ConfigDict

from rag.errors import RagError


def clean_query(query: str, limit: int) -> str:
    """Reject queries no retriever can use, with a message that says why."""
    text = query.strip()
    if not text:
        raise RagError("the question is empty")
    if len(text) > limit:
        raise RagError(
            f"the question is too long ({len(text):,} characters; the limit is {limit:,})"
        )
    return text


class DenseRetriever(BaseRetriever):
    model_config = ConfigDict(arbitrary_types_allowed=True)

    vectors: Chroma
    k: int = 4

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun
    ) -> list[Document]:
        hits = self.vectors.similarity_search_with_score(query, k=self.k)
        # Chroma's cosine space returns a distance: 1 - cosine similarity.
        return [
            Document(
                id=doc.id,
                page_content=doc.page_content,
                metadata={**doc.metadata, "score": round(1.0 - distance, 6)},
            )
            for doc, distance in hits
        ]


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
        )
