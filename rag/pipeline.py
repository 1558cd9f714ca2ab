"""The wired-up components for one settings object: embeddings, store, retriever, chain.

Front ends build one `Pipeline` and take what they need from it; the chat model is
only loaded when a question is first asked.
"""

import contextlib
import threading
from dataclasses import dataclass, field

from langchain_core.language_models import BaseChatModel

from rag.answering.chain import EvidenceChain
from rag.chain import QAChain
from rag.embeddings import Embedder, load_embeddings
from rag.retrieval import HybridRetriever
from rag.settings import Settings
from rag.store import DocumentStore, OnMismatch, open_store


@dataclass
class Pipeline:
    settings: Settings
    embeddings: Embedder
    store: DocumentStore
    _chains: dict[int, QAChain] = field(default_factory=dict, init=False)
    _llm: BaseChatModel | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    model_ready: threading.Event = field(default_factory=threading.Event, init=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, on_mismatch: OnMismatch = "raise") -> "Pipeline":
        """`on_mismatch`: what an index built by other settings does (`open_store`)."""
        embeddings = load_embeddings(settings.embeddings)
        store = open_store(settings, embeddings, on_mismatch=on_mismatch)
        return cls(settings, embeddings, store)

    def retriever(self, k: int | None = None) -> HybridRetriever:
        self.store.usable()
        retrieval = self.settings.retrieval
        return HybridRetriever(
            store=self.store,
            k=k or retrieval.k,
            mode=retrieval.mode,
            candidates=retrieval.candidates,
            mmr_lambda=retrieval.mmr_lambda if retrieval.mmr else None,
            min_score=retrieval.min_score,
            neighbours=retrieval.neighbours,
            section_chars=retrieval.section_chars,
        )

    def warm(self) -> None:
        """Load the models and cache the prompt's fixed start, then mark the model ready.

        Servers call this once at startup and answer "loading" until it returns; a
        failure is left for the first question to report. The embedded model reads the
        prompt's start once: later starts restore its saved cache (milliseconds instead
        of ~10 s on 2 cores)."""
        from rag.llm import embedded_server

        with contextlib.suppress(Exception):  # reads the vector index in (36 s at 1M chunks)
            self.retriever().invoke("warm-up")
        with contextlib.suppress(Exception):
            self.embeddings.embed_query("warm-up")  # loads the embedding model too
            chain = self.chain
            server = None if self.settings.llm.base_url else embedded_server(self.settings)
            prompt = chain.warmup_prompt()
            if server is None or not server.restore_prompt(prompt):
                chain.warm()
                if server is not None:
                    server.save_prompt(prompt)
        self.model_ready.set()

    @property
    def chain(self) -> QAChain:
        return self.chain_for(self.settings.retrieval.k)

    def chain_for(self, k: int) -> QAChain:
        """A chain retrieving `k` passages; every chain shares the one chat model."""
        with self._lock:  # the UI warms the model while a first question may arrive
            if k not in self._chains:
                if self._llm is None:
                    from rag.llm import chat_model

                    self._llm = chat_model(self.settings)
                kind = EvidenceChain if self.settings.answer.chain == "evidence" else QAChain
                self._chains[k] = kind(
                    self.retriever(k), self._llm, self.settings.answer, self.embeddings
                )
            return self._chains[k]
