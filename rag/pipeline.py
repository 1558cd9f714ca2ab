"""The wired-up components for one settings object: embeddings, store, retriever, chain.

Front ends build one `Pipeline` and take what they need from it; the chat model is
only loaded when a question is first asked.
"""

from dataclasses import dataclass, field

from rag.chain import QAChain
from rag.embeddings import SentenceTransformerEmbeddings
from rag.retrieval import DenseRetriever
from rag.settings import Settings
from rag.store import DocumentStore, open_store


@dataclass
class Pipeline:
    settings: Settings
    embeddings: SentenceTransformerEmbeddings
    store: DocumentStore
    _chain: QAChain | None = field(default=None, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Pipeline":
        embeddings = SentenceTransformerEmbeddings.from_settings(settings.embeddings)
        return cls(settings, embeddings, open_store(settings, embeddings))

    def retriever(self, k: int | None = None) -> DenseRetriever:
        return DenseRetriever(vectors=self.store.vectors, k=k or self.settings.retrieval.k)

    @property
    def chain(self) -> QAChain:
        if self._chain is None:
            from rag.llm import chat_model

            self._chain = QAChain(self.retriever(), chat_model(self.settings), self.settings.answer)
        return self._chain
